// The places where steps run besides the engine's thread: its own worker pool (trusted built-ins)
// and the sandbox processes (user code, pieces from packages). Each starts when first needed, or
// when `warmUp` asks (a server, once it can answer), so that neither is in a start's critical path
// and a command that fails early never starts a thread it would have to stop half-loaded; the pool's
// module (Piscina) is loaded only then too. The sandbox processes may also start early
// (`startSandbox`): a process, unlike a thread, is killed at once.
import type { Credentials } from '../piece-sdk/define.js'
import { type SandboxEvent, SandboxPool } from '../sandbox/sandbox-pool.js'
import type { LogSink, WorkerPool } from '../workers/pool.js'
import { LeaseDeadline, type StepReply, type StepTask } from '../workers/protocol.js'

export interface ExecutorOptions {
  threads: number
  memoryLimitMb: number
  sandbox: {
    processes: number
    threadsPerProcess: number
    processMemoryMb: number
    maxThreadsPerWorkflow?: number
  }
  pieceFiles: string[]
  credentials?: Record<string, Credentials>
  onSandboxEvent?: (event: SandboxEvent) => void
}

export class Executors {
  private workerPool: WorkerPool | undefined
  private poolStart: Promise<WorkerPool> | undefined
  private sandboxPool: SandboxPool | undefined
  private closed = false
  /**
   * Until when the engine's leases are sure (set by its renewals): a step that would begin later,
   * in a thread or a sandbox process, is refused with LEASE_UNSURE rather than run.
   */
  readonly leaseDeadline = new LeaseDeadline()

  constructor(private readonly options: ExecutorOptions) {}

  /** The worker pool, started at the first call. */
  pool(): Promise<WorkerPool> {
    this.poolStart ??= import('../workers/pool.js').then(({ WorkerPool }) => {
      this.workerPool = new WorkerPool({
        threads: this.options.threads,
        memoryLimitMb: this.options.memoryLimitMb,
        pieceFiles: this.options.pieceFiles,
        credentials: this.options.credentials,
        leaseDeadline: this.leaseDeadline.buffer,
      })
      return this.workerPool
    })
    return this.poolStart
  }

  get sandbox(): SandboxPool {
    this.sandboxPool ??= new SandboxPool({
      ...this.options.sandbox,
      memoryLimitMb: this.options.memoryLimitMb,
      pieceFiles: this.options.pieceFiles,
      credentials: this.options.credentials,
      onEvent: this.options.onSandboxEvent,
      leaseSure: () => !this.leaseDeadline.passed,
    })
    return this.sandboxPool
  }

  /** Runs a step in the pool or a sandbox process; after `close`, answers that it was cancelled. */
  run(
    where: 'pool' | 'sandbox',
    task: Omit<StepTask, 'taskId'>,
    signal: AbortSignal,
    log: LogSink,
  ): Promise<StepReply> {
    if (this.closed) return Promise.resolve({ ok: false, error: STOPPED })
    if (where === 'sandbox') return this.sandbox.run(task, signal, log)
    return this.pool().then((pool) =>
      this.closed ? { ok: false, error: STOPPED } : pool.run(task, signal, log),
    )
  }

  /** Starts both now, so that the first steps find them ready. */
  warmUp(): void {
    if (this.closed) return
    // a pool that cannot start says so to the first step given to it
    this.pool().catch(() => {})
    void this.sandbox
  }

  /** Starts the sandbox processes now, for steps known to come (`piecework run`). */
  startSandbox(): void {
    if (!this.closed) void this.sandbox
  }

  /** Threads the pool and the sandbox processes have once started (they start at the first step). */
  get capacity(): { threads: number; sandboxThreads: number } {
    const { processes, threadsPerProcess } = this.options.sandbox
    return { threads: this.options.threads, sandboxThreads: processes * threadsPerProcess }
  }

  /** Threads ready to take steps, in the pool and in the sandbox processes. */
  get threads(): number {
    return this.poolThreads + this.sandboxThreads
  }

  get poolThreads(): number {
    return this.workerPool?.threads ?? 0
  }

  /** Threads of the sandbox processes that are up and taking work. */
  get sandboxThreads(): number {
    return this.sandboxPool?.threads ?? 0
  }

  get queueSize(): number {
    return (this.workerPool?.queueSize ?? 0) + (this.sandboxPool?.queueSize ?? 0)
  }

  /** Busy share of the threads of both. */
  get utilization(): number {
    const poolThreads = this.workerPool?.threads ?? 0
    const sandboxThreads = this.sandboxPool ? this.capacity.sandboxThreads : 0
    const busy =
      (this.workerPool?.utilization ?? 0) * poolThreads +
      (this.sandboxPool?.utilization ?? 0) * sandboxThreads
    const total = poolThreads + sandboxThreads
    return total === 0 ? 0 : busy / total
  }

  async close(): Promise<void> {
    this.closed = true
    // a pool that could not start has nothing to close
    const pool = this.poolStart?.then(
      (started) => started.close(),
      () => {},
    )
    await Promise.all([pool, this.sandboxPool?.close()])
  }
}

const STOPPED = {
  name: 'CancelledError',
  code: 'CANCELLED',
  message: 'the engine is stopping',
  retryable: false,
}
