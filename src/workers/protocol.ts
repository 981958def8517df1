// Messages across the thread boundary: a step task goes to a worker, a reply comes back; log lines
// travel separately over a comlink channel that each worker opens to the host when it starts.
import type { ErrorShape } from '../errors.js'
import type { Credentials, RunInfo } from '../piece-sdk/define.js'

export interface StepTask {
  taskId: number
  uses: string
  props: unknown
  input: unknown
  inputs: Record<string, unknown>
  trigger?: unknown
  steps?: Record<string, { output: unknown }>
  run: RunInfo
  stepId: string
  /** Under `forEach`: the item this task runs for and its position. */
  item?: { value: unknown; index: number }
  attempt: number
  idempotencyKey: string
  timeoutMs: number
  maxOutputBytes: number
  /** Whether the worker tells the host when it begins (the timeout counts from then). */
  reportStart?: boolean
  /** The secrets named at the action's `secretProps`, read when the step was dispatched. */
  secrets?: Record<string, string>
}

/** Outputs come back as JSON text: size-checked in the worker, stored as is, parsed once on the host. */
export type StepReply =
  | { ok: true; kind: 'fired'; handle: string; json: string }
  | {
      ok: true
      kind: 'wait'
      until?: number
      json: string
      /** A wait for a signal: its name and, for broadcasts, its key as JSON text. */
      signal?: { name: string; key?: string }
    }
  /** Start a run of another workflow (built-in `workflow.run`); its input as JSON text. */
  | { ok: true; kind: 'child'; workflow: string; version?: number; input: string; wait: boolean }
  | { ok: false; error: ErrorShape }

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** What the host offers workers over comlink. */
export interface HostApi {
  log(taskId: number, level: LogLevel, msg: string, data?: string): void
  /** A worker began the task: its timeout starts now. */
  started(taskId: number): void
  /** Answers once every earlier message on the channel has been handled. */
  flush(): void
  /** The configured credentials of the task's piece (asked only by pieces that declare `auth`). */
  credentials(taskId: number): Credentials | undefined
}

export const HOST_PORT_MESSAGE = 'piecework:host-port'

export interface WorkerData {
  /**
   * Entry modules of pieces besides the built-in ones (which each worker finds beside its own
   * code), already checked on the main thread.
   */
  pieceFiles: string[]
}
