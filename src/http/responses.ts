// The valibot schemas of the API's answers: they make the response schemas of the OpenAPI document,
// and the checks at the bottom keep them in step with the types the store and the routes answer with.
import * as v from 'valibot'
import { RUN_STATUSES } from '../model/status.js'
import type { pieceCatalogue } from '../piece-sdk/catalogue.js'
import type { WorkflowRunStats } from '../store/run-stats.js'
import type { ItemView, LogLine, RunView } from '../store/runs.js'
import type { workflowView } from './routes/workflows.js'

const STEP_STATUSES = [
  'pending',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
] as const
const Time = v.pipe(v.string(), v.isoTimestamp())
const MaybeTime = v.nullable(Time)
/** Any JSON value (a run's input, output, error; a step's). */
const Json = v.unknown()

/** A page of a list: every list answers in this shape. */
const page = <S extends v.GenericSchema>(item: S) =>
  v.object({ items: v.array(item), nextCursor: v.nullable(v.string()) })

export const ErrorBody = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    details: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
  }),
})

export const WorkflowView = v.object({
  id: v.string(),
  name: v.nullable(v.string()),
  version: v.number(),
  triggerKind: v.string(),
  /** The definition as stored, a webhook's secret replaced by `[redacted]`. */
  definition: v.record(v.string(), Json),
  createdAt: Time,
  updatedAt: Time,
  /** Paused: its triggers start nothing and manual starts answer 409, until it is resumed. */
  paused: v.boolean(),
  pausedAt: MaybeTime,
})

export const WorkflowSummary = v.object({
  id: v.string(),
  name: v.nullable(v.string()),
  version: v.number(),
  triggerKind: v.string(),
  createdAt: Time,
  updatedAt: Time,
  paused: v.boolean(),
  pausedAt: MaybeTime,
})
export const WorkflowPage = page(WorkflowSummary)

export const StepView = v.object({
  id: v.string(),
  status: v.picklist(STEP_STATUSES),
  attempts: v.number(),
  input: v.optional(Json),
  handle: v.optional(v.string()),
  output: Json,
  error: Json,
  startedAt: MaybeTime,
  finishedAt: MaybeTime,
  items: v.optional(
    v.object({ total: v.number(), succeeded: v.number(), failed: v.number(), running: v.number() }),
  ),
  childRunId: v.optional(v.string()),
  waitingFor: v.optional(v.object({ signal: v.string(), key: v.optional(Json), until: v.optional(Time) })),
})

export const Run = v.object({
  id: v.string(),
  workflowId: v.string(),
  workflowVersion: v.number(),
  status: v.picklist(RUN_STATUSES),
  input: Json,
  output: Json,
  error: Json,
  createdAt: Time,
  startedAt: MaybeTime,
  finishedAt: MaybeTime,
  parentRunId: v.nullable(v.string()),
  parentStepId: v.nullable(v.string()),
  steps: v.array(StepView),
})

export const RunSummary = v.object({
  id: v.string(),
  workflowId: v.string(),
  workflowVersion: v.number(),
  status: v.picklist(RUN_STATUSES),
  createdAt: Time,
  startedAt: MaybeTime,
  finishedAt: MaybeTime,
})
export const RunPage = page(RunSummary)

/** The answer to a start or a retry that does not wait: where the run is now. */
export const RunStarted = v.object({ id: v.string(), status: v.picklist(RUN_STATUSES) })

export const LogLineView = v.object({
  ts: Time,
  level: v.string(),
  stepId: v.nullable(v.string()),
  msg: v.string(),
  data: Json,
})
export const LogPage = page(LogLineView)

export const ItemViewSchema = v.object({
  index: v.number(),
  status: v.string(),
  attempts: v.number(),
  output: Json,
  error: Json,
  childRunId: v.optional(v.string()),
  finishedAt: MaybeTime,
})
export const ItemPage = page(ItemViewSchema)

/** Per workflow: its runs created since `since` by status, and its newest run. */
export const RunStatsPage = v.object({
  since: Time,
  items: v.array(
    v.object({
      workflowId: v.string(),
      counts: v.record(v.picklist(RUN_STATUSES), v.number()),
      lastRun: v.nullable(v.object({ id: v.string(), status: v.picklist(RUN_STATUSES), createdAt: Time })),
    }),
  ),
  nextCursor: v.null(),
})

export const SignalTaken = v.object({ taken: v.nullable(v.string()) })
export const Delivered = v.object({ delivered: v.number() })

/** A JSON Schema (of a piece's props or output). */
const JsonSchemaObject = Json
export const Piece = v.object({
  name: v.string(),
  version: v.string(),
  title: v.string(),
  description: v.nullable(v.string()),
  source: v.string(),
  auth: v.nullable(
    v.object({
      type: v.string(),
      required: v.boolean(),
      baseUrl: v.nullable(v.string()),
      description: v.nullable(v.string()),
      configKey: v.string(),
      fields: v.optional(v.array(v.string())),
      configured: v.optional(v.boolean()),
    }),
  ),
  actions: v.array(
    v.object({
      name: v.string(),
      uses: v.string(),
      title: v.string(),
      description: v.nullable(v.string()),
      props: JsonSchemaObject,
      output: v.nullable(JsonSchemaObject),
      handles: v.nullish(v.array(v.string())),
    }),
  ),
  triggers: v.array(
    v.object({
      name: v.string(),
      kind: v.string(),
      title: v.string(),
      description: v.nullable(v.string()),
      props: JsonSchemaObject,
    }),
  ),
})
export const PiecePage = page(Piece)

export const Health = v.object({ status: v.literal('ok') })
export const Ready = v.object({
  status: v.literal('ready'),
  database: v.string(),
  /** Threads of the engine's pool and of the sandbox processes: how many steps run at once. */
  threads: v.number(),
  sandboxThreads: v.number(),
  /** Of those, the threads up now: they start at the first step that needs them. */
  threadsUp: v.number(),
})

// Compile-time checks: what the store and the routes answer with fits these schemas (a field added
// to one and not the other fails the type check, not a client).
type Fits<T, U> = [T] extends [U] ? true : never
type Out<S extends v.GenericSchema> = v.InferOutput<S>
const fits: [
  Fits<RunView, Out<typeof Run>>,
  Fits<LogLine, Out<typeof LogLineView>>,
  Fits<ItemView, Out<typeof ItemViewSchema>>,
  Fits<WorkflowRunStats, Out<typeof RunStatsPage>['items'][number]>,
  // the definition is redacted as `unknown`; it is the stored object
  Fits<Omit<ReturnType<typeof workflowView>, 'definition'>, Omit<Out<typeof WorkflowView>, 'definition'>>,
  Fits<ReturnType<typeof pieceCatalogue>[number], Out<typeof Piece>>,
] = [true, true, true, true, true, true]
void fits
