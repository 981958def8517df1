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
  /** See `LeaseDeadline`: a task that begins past it is refused, not run. */
  leaseDeadline?: SharedArrayBuffer
}

/**
 * Until when the engine's leases on its runs are sure, shared with its worker threads: the time
 * (`performance.timeOrigin + performance.now()`, the same clock in every thread) that the last
 * renewal that went through vouches for. A step that waited in the pool's queue while the process
 * was stopped past its leases (SIGSTOP, a long pause) must not begin: another process may own its
 * run now and run the step itself. The worker refuses it with LEASE_UNSURE, and the engine
 * confirms its lease before it gives the step again.
 */
export class LeaseDeadline {
  readonly buffer: SharedArrayBuffer
  /** Microseconds on the shared clock, read and written whole (Atomics). */
  private readonly at: BigInt64Array

  /**
   * A new deadline refuses nothing until an engine's renewals set it (pools used without leases);
   * another thread's view of it is made from its buffer.
   */
  constructor(shared?: SharedArrayBuffer) {
    this.buffer = shared ?? new SharedArrayBuffer(8)
    this.at = new BigInt64Array(this.buffer)
    if (!shared) Atomics.store(this.at, 0, BigInt(Number.MAX_SAFE_INTEGER))
  }

  /** Sure until `ms` on this thread's `performance.now()` clock. */
  set(ms: number): void {
    Atomics.store(this.at, 0, BigInt(Math.round((performance.timeOrigin + ms) * 1000)))
  }

  get passed(): boolean {
    return (performance.timeOrigin + performance.now()) * 1000 > Number(Atomics.load(this.at, 0))
  }
}

/** The answer to a step stopped before its end (its run was cancelled or left this process). */
export const CANCELLED: ErrorShape = {
  name: 'CancelledError',
  code: 'CANCELLED',
  message: 'the step was cancelled',
  retryable: false,
}

/** The answer to a step given while the engine's leases were not sure: it did not begin. */
export const LEASE_UNSURE: ErrorShape = {
  name: 'LeaseUnsureError',
  code: 'LEASE_UNSURE',
  message: "the step did not begin: the engine's lease on its run was not sure at that moment",
  retryable: true,
}
