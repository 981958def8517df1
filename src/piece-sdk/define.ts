// The piece framework: a piece is a declarative object of actions and triggers whose props and
// outputs are valibot schemas, checked by the runtime on the way in and out.
import type * as v from 'valibot'

// biome-ignore lint/suspicious/noExplicitAny: schemas of any shape are accepted
export type AnySchema = v.GenericSchema<any, any>

export interface StepLogger {
  debug(msg: string, data?: unknown): void
  info(msg: string, data?: unknown): void
  warn(msg: string, data?: unknown): void
  error(msg: string, data?: unknown): void
}

export interface RunInfo {
  id: string
  workflowId: string
  workflowVersion: number
}

/** What a piece may need to reach a service: declared on the piece, filled from the engine's config. */
export type AuthType = 'apiKey' | 'bearer' | 'basic'

export interface PieceAuth {
  /** `apiKey` needs `apiKey`; `bearer` needs `token`; `basic` needs `username` and `password`. */
  type: AuthType
  /** When true (the default), a step fails with NOT_CONFIGURED while the secret values are missing. */
  required?: boolean
  /** Whether the piece also takes the service's base URL from the config; `required` is always enforced. */
  baseUrl?: 'required' | 'optional'
  description?: string
}

/** The configured values a piece gets on `ctx.credentials`; secrets never reach records or logs. */
export interface Credentials {
  baseUrl?: string
  apiKey?: string
  token?: string
  username?: string
  password?: string
}

export const SECRET_FIELDS = ['apiKey', 'token', 'password'] as const

/** The config fields an auth type reads, base URL first when the piece takes one. */
export function authFields(auth: PieceAuth): (keyof Credentials)[] {
  const fields: (keyof Credentials)[] =
    auth.type === 'apiKey' ? ['apiKey'] : auth.type === 'bearer' ? ['token'] : ['username', 'password']
  return auth.baseUrl ? ['baseUrl', ...fields] : fields
}

/** The fields that must have a value before a step of the piece may run. */
export function missingFields(auth: PieceAuth, values: Credentials): (keyof Credentials)[] {
  const needed = authFields(auth).filter((field) =>
    field === 'baseUrl' ? auth.baseUrl === 'required' : auth.required !== false,
  )
  return needed.filter((field) => !values[field])
}

export interface ActionContext<Props> {
  props: Props
  /** The value of the first delivering need (for a root step, the trigger's output). */
  input: unknown
  /** One key per delivering need, keyed by step id. */
  inputs: Record<string, unknown>
  /** The trigger's output; only for actions declared with `runData: true`. */
  trigger: unknown
  /** Finished steps' outputs; only for actions declared with `runData: true`. */
  steps: Record<string, { output: unknown }>
  run: RunInfo
  stepId: string
  /** Under `forEach`: the item this run of the action is for, and its position. */
  item?: { value: unknown; index: number }
  /** 1 on the first try. */
  attempt: number
  /** `runId:stepId`: the same on every attempt and after a restart; pass it to services that deduplicate. */
  idempotencyKey: string
  log: StepLogger
  /** Aborted when the step times out. (A cancelled run's running steps are stopped with their worker.) */
  signal: AbortSignal
  limits: { maxOutputBytes: number; timeoutMs: number }
  /** The piece's configured credentials; only for pieces that declare `auth`, else undefined. */
  credentials: Readonly<Credentials> | undefined
  /** The values of the secrets the step names at the action's `secretProps`, by name. */
  secrets?: Readonly<Record<string, string>>
}

const FIRED = Symbol.for('piecework.Fired')
const WAITING = Symbol.for('piecework.Waiting')

export interface Fired {
  readonly [FIRED]: true
  readonly handle: string
  readonly value: unknown
}

export interface Waiting {
  readonly [WAITING]: true
  /** When the wait ends (a delay), or times out (a wait for a signal); none: no time limit. */
  readonly until?: number
  readonly value: unknown
  /** What the step waits for besides time: a signal of this name (and, for broadcasts, this key). */
  readonly signal?: { name: string; key?: unknown }
}

/** A signal's name: what `POST /api/v1/runs/:id/signals/:name` and `$signalUrl(name)` carry. */
export const SIGNAL_NAME = /^[A-Za-z0-9_.-]{1,100}$/

/** A secret's name: what `$secret(name)` and a `secretProps` prop (`auth.secret`) carry. */
export const SECRET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

const CHILD = Symbol.for('piecework.ChildRun')

/** A run of another workflow that the step starts (built-in `workflow.run` only). */
export interface ChildRun {
  readonly [CHILD]: true
  readonly workflow: string
  readonly version?: number
  readonly input: unknown
  /** Whether the step waits for the child's end (and delivers its output). */
  readonly wait: boolean
}

/** Ends the step on `handle` instead of `out`. */
export function fire(handle: string, value: unknown): Fired {
  return { [FIRED]: true, handle, value }
}

/** Ends the step after a durable wait: the step delivers `value` on `out` once `until` has passed. */
export function waitUntil(until: Date | number, value: unknown): Waiting {
  return { [WAITING]: true, until: typeof until === 'number' ? until : until.getTime(), value }
}

/**
 * Ends the step once a signal of this name is sent to the run: the step fires `out` with its data.
 * With `until`, the wait times out then (handle `timeout`, or TIMEOUT).
 */
export function waitForSignal(name: string, options: { key?: unknown; until?: number } = {}): Waiting {
  return { [WAITING]: true, until: options.until, value: null, signal: { name, key: options.key } }
}

/** Starts a run of another workflow as the step's child (honoured for built-in pieces only). */
export function startWorkflow(run: Omit<ChildRun, typeof CHILD>): ChildRun {
  return { [CHILD]: true, ...run }
}

export function isChildRun(value: unknown): value is ChildRun {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CHILD] === true
}

export function isFired(value: unknown): value is Fired {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[FIRED] === true
}

export function isWaiting(value: unknown): value is Waiting {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[WAITING] === true
}

export interface ActionDefinition<Props = unknown, Output = unknown> {
  name: string
  title?: string
  description?: string
  props: v.GenericSchema<unknown, Props>
  output?: v.GenericSchema<unknown, Output>
  /**
   * The handles the action may fire; `out` when not given. A function gets the step's props as
   * written and may answer undefined when they only tell at run time.
   */
  handles?: readonly string[] | ((props: Record<string, unknown>) => string[] | undefined)
  /** Whether `trigger` and `steps` are copied into the context (costly for big runs, so opt-in). */
  runData?: boolean
  /**
   * Pure and quick: no I/O, no user code, no waiting on anything. Such actions of built-in pieces
   * run on the engine's own thread instead of a worker; for pieces from packages it is ignored.
   */
  inline?: boolean
  /**
   * Dotted paths of props whose value names a secret (`auth.secret`): the engine reads those
   * secrets when it dispatches the step and hands their values over on `ctx.secrets`.
   */
  secretProps?: readonly string[]
  run(ctx: ActionContext<Props>): Promise<Output | Fired | Waiting> | Output | Fired | Waiting
}

export type TriggerKind = 'manual' | 'webhook' | 'schedule'

export interface TriggerDefinition<Props = unknown> {
  name: string
  kind: TriggerKind
  title?: string
  description?: string
  props: v.GenericSchema<unknown, Props>
}

export interface PieceDefinition {
  name: string
  version: string
  title?: string
  description?: string
  /** The credentials the piece needs, taken from the config (`credentials.<piece name>`). */
  auth?: PieceAuth
  /**
   * Runs no user code and is known not to exhaust memory: its steps run in the engine's own worker
   * threads. Honoured only for built-in pieces; every other piece runs in sandbox processes.
   */
  trusted?: boolean
  // biome-ignore lint/suspicious/noExplicitAny: a piece holds actions of differing prop types
  actions: ActionDefinition<any, any>[]
  // biome-ignore lint/suspicious/noExplicitAny: as above
  triggers?: TriggerDefinition<any>[]
}

export function defineAction<Props, Output>(
  action: ActionDefinition<Props, Output>,
): ActionDefinition<Props, Output> {
  return action
}

export function defineTrigger<Props>(trigger: TriggerDefinition<Props>): TriggerDefinition<Props> {
  return trigger
}

export function definePiece(piece: PieceDefinition): PieceDefinition {
  return piece
}

export function actionHandles(
  action: ActionDefinition,
  props: Record<string, unknown>,
): string[] | undefined {
  if (!action.handles) return ['out']
  return typeof action.handles === 'function' ? action.handles(props) : [...action.handles]
}
