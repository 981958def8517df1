// `runs.retention`: how long ended runs (with their step rows and log lines) are kept, per status,
// by age and by count per workflow. Nothing is pruned unless a status is named here.
import * as v from 'valibot'
import { DurationSchema } from '../definition/schema.js'

const RuleSchema = v.pipe(
  v.strictObject({
    /** Runs that ended longer ago than this are pruned. */
    maxAge: v.optional(DurationSchema),
    /** Per workflow, only the newest this many runs are kept. */
    keep: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  }),
  v.check((rule) => rule.maxAge !== undefined || rule.keep !== undefined, 'set maxAge, keep, or both'),
)

export const RetentionSchema = v.optional(
  v.strictObject({
    succeeded: v.optional(RuleSchema),
    failed: v.optional(RuleSchema),
    cancelled: v.optional(RuleSchema),
    /** How often a pruning pass runs. */
    interval: v.optional(DurationSchema, '1m'),
    /** Runs deleted per transaction, with their step rows and log lines. */
    batchSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 200),
  }),
  {},
)

export type RetentionConfig = v.InferOutput<typeof RetentionSchema>
