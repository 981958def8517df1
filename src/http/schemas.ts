// The valibot schemas of the API's requests: they validate requests and make the OpenAPI document.
import * as v from 'valibot'
import { DURATION_PATTERN, parseDuration } from '../definition/duration.js'
import { RUN_STATUSES } from '../model/status.js'

export const StartRunBody = v.optional(v.strictObject({ input: v.optional(v.unknown(), {}) }), { input: {} })

/** The longest `?wait=`: a run that takes longer is better followed by polling or its events. */
export const MAX_WAIT_MS = 5 * 60_000

/** In a query every value is text: `?wait=5000` is milliseconds, `?wait=5s` a duration. */
export const WaitQuery = v.object({
  wait: v.optional(
    v.pipe(
      v.union(
        [v.pipe(v.string(), v.regex(/^\d+$/)), v.pipe(v.string(), v.regex(DURATION_PATTERN))],
        'must be milliseconds or a duration like 250ms, 10s, 5m',
      ),
      v.transform(
        (wait) => parseDuration(/^\d+$/.test(wait) ? Number(wait) : wait) ?? Number.POSITIVE_INFINITY,
      ),
      // a timer of more than 2^31 - 1 ms would fire at once
      v.maxValue(MAX_WAIT_MS, `must be at most 5m (${MAX_WAIT_MS} ms)`),
    ),
  ),
})

/** `?limit=`: a whole number from 1 to `max`. */
const limit = (max: number, byDefault: string) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'must be a whole number'),
      v.transform(Number),
      v.minValue(1),
      v.maxValue(max),
    ),
    byDefault,
  )
const Limit = limit(500, '50')

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/** `?since=`, `?until=`: an ISO 8601 time, or a duration back from now (`30m`, `24h`, `7d`); as epoch ms. */
export const TimeParam = v.pipe(
  v.string(),
  v.check(
    (t) => DURATION_PATTERN.test(t) || (ISO_TIME.test(t) && Number.isFinite(Date.parse(t))),
    'must be an ISO 8601 time (2026-01-31T09:00:00Z) or a duration back from now (30m, 24h, 7d)',
  ),
  v.transform((t) => {
    const back = parseDuration(t)
    return back === undefined ? Date.parse(t) : Date.now() - back
  }),
)

export const RunListQuery = v.object({
  workflowId: v.optional(v.string()),
  status: v.optional(v.picklist(RUN_STATUSES)),
  since: v.optional(TimeParam),
  until: v.optional(TimeParam),
  limit: Limit,
  cursor: v.optional(v.string()),
})

export const PageQuery = v.object({ limit: Limit, cursor: v.optional(v.string()) })

/** A page of a run's log lines, of one step with `stepId`. */
export const LogQuery = v.object({
  stepId: v.optional(v.string()),
  limit: Limit,
  cursor: v.optional(v.string()),
})

/** Run counts by workflow and status, of the runs created since then (by default the last 24 h). */
export const RunStatsQuery = v.object({ since: v.optional(TimeParam, '24h') })

export const VersionQuery = v.object({
  version: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'must be a whole number'),
      v.transform(Number),
      // the column's range: a larger number would make PostgreSQL fail the statement
      v.maxValue(2_147_483_647),
    ),
  ),
})

/** A signal to one run: its data (any JSON; none is null). */
export const SignalBody = v.optional(v.strictObject({ data: v.optional(v.unknown(), null) }), { data: null })

/** A broadcast signal: reaches runs whose waiting step's `key` equals `key`. */
export const BroadcastBody = v.strictObject({
  key: v.optional(v.unknown()),
  data: v.optional(v.unknown(), null),
})

/** A page of a `forEach` step's items: the cursor is the index of the last item given. */
export const ItemsQuery = v.object({ limit: limit(1000, '100'), cursor: v.optional(v.string()) })
