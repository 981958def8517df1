// The workflow format v1 as valibot schemas: the single source of truth for definitions.
import * as v from 'valibot'
import { DURATION_PATTERN } from './duration.js'

export const WORKFLOW_ID = /^[a-z0-9][a-z0-9-]{0,62}$/
export const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

export const DurationSchema = v.union(
  [
    v.pipe(v.number(), v.integer(), v.minValue(0)),
    v.pipe(v.string(), v.regex(DURATION_PATTERN, 'must be a duration like 250ms, 10s, 5m, 2h or 1d')),
  ],
  'must be a number of milliseconds or a duration like 250ms, 10s, 5m, 2h or 1d',
)

const PropsSchema = v.optional(v.record(v.string(), v.unknown()), {})

export const RetrySchema = v.strictObject({
  attempts: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
  backoff: v.optional(v.picklist(['fixed', 'exponential']), 'fixed'),
  delay: v.optional(DurationSchema, '1s'),
  maxDelay: v.optional(DurationSchema),
  /** Full jitter by default for `exponential`, none for `fixed` (compile.ts). */
  jitter: v.optional(v.picklist(['full', 'none'])),
})

const NeedsSchema = v.pipe(
  v.optional(v.union([v.string(), v.array(v.string())]), []),
  v.transform((needs) => (typeof needs === 'string' ? [needs] : needs)),
)

export const StepSchema = v.strictObject({
  id: v.pipe(v.string(), v.regex(STEP_ID, 'must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$')),
  name: v.optional(v.string()),
  uses: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]*\.[A-Za-z0-9_-]+$/, 'must be piece.action')),
  with: PropsSchema,
  needs: NeedsSchema,
  join: v.optional(v.picklist(['all', 'any']), 'all'),
  retry: v.optional(RetrySchema),
  timeout: v.optional(DurationSchema),
  onError: v.optional(v.picklist(['fail', 'continue', 'branch']), 'fail'),
  /** v2: run the action once per item; checked in compile.ts (its forms give clearer messages there). */
  forEach: v.optional(v.unknown()),
})

export const TriggerSchema = v.strictObject({
  uses: v.string(),
  with: PropsSchema,
})

export const WorkflowSchema = v.strictObject({
  id: v.pipe(v.string(), v.regex(WORKFLOW_ID, 'must be a slug matching ^[a-z0-9][a-z0-9-]{0,62}$')),
  // stored in a column of 255 characters as well as in the definition
  name: v.optional(v.pipe(v.string(), v.maxLength(255, 'must be at most 255 characters'))),
  description: v.optional(v.string()),
  trigger: TriggerSchema,
  steps: v.pipe(v.array(StepSchema), v.minLength(1, 'must hold at least one step')),
  output: v.optional(v.unknown()),
  concurrency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  /** The workflow started when a run of this one fails, with `{ runId, workflowId, error, stepId }`. */
  onFailure: v.optional(
    v.pipe(v.string(), v.regex(WORKFLOW_ID, 'must be a workflow id matching ^[a-z0-9][a-z0-9-]{0,62}$')),
  ),
})

export type WorkflowDefinition = v.InferOutput<typeof WorkflowSchema>
export type StepDefinition = v.InferOutput<typeof StepSchema>
export type RetryDefinition = v.InferOutput<typeof RetrySchema>
