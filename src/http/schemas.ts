// The valibot schemas of the API's requests: they validate requests and make the OpenAPI document.
import * as v from 'valibot'
import { DURATION_PATTERN } from '../definition/duration.js'

export const StartRunBody = v.optional(v.strictObject({ input: v.optional(v.unknown(), {}) }), { input: {} })

/** In a query every value is text: `?wait=5000` is milliseconds, `?wait=5s` a duration. */
export const WaitQuery = v.object({
  wait: v.optional(
    v.union(
      [v.pipe(v.string(), v.regex(/^\d+$/)), v.pipe(v.string(), v.regex(DURATION_PATTERN))],
      'must be milliseconds or a duration like 250ms, 10s, 5m',
    ),
  ),
})

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const

const Limit = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(1),
    v.maxValue(500),
  ),
  '50',
)

export const RunListQuery = v.object({
  workflowId: v.optional(v.string()),
  status: v.optional(v.picklist(RUN_STATUSES)),
  limit: Limit,
  cursor: v.optional(v.string()),
})

export const PageQuery = v.object({ limit: Limit, cursor: v.optional(v.string()) })

export const VersionQuery = v.object({
  version: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number'), v.transform(Number))),
})
