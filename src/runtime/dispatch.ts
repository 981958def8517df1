// Where a step runs. Built-in actions marked `inline` (pure and quick: no I/O, no user code) run on
// the engine's own thread, which saves the hop to a worker and back; every other action runs in the
// worker pool. Both go through the same checks (src/workers/execute.ts).
import { type PieceRegistry, splitUses } from '../piece-sdk/registry.js'
import { executeStep, stepLogger } from '../workers/execute.js'
import type { LogSink, WorkerPool } from '../workers/pool.js'
import type { StepReply, StepTask } from '../workers/protocol.js'

export interface StepRunner {
  run(task: Omit<StepTask, 'taskId'>, signal: AbortSignal, log: LogSink): Promise<StepReply>
  /** Whether the action runs on the engine's thread: pure, quick, with no effect outside the run. */
  runsInline(uses: string): boolean
}

export class StepDispatcher implements StepRunner {
  private readonly inline = new Map<string, boolean>()

  constructor(
    private readonly registry: PieceRegistry,
    private readonly pool: WorkerPool,
    /** False sends every step to the pool (to measure what inline execution saves). */
    private readonly inlineAllowed = true,
  ) {}

  run(task: Omit<StepTask, 'taskId'>, signal: AbortSignal, log: LogSink): Promise<StepReply> {
    if (!this.runsInline(task.uses)) return this.pool.run(task, signal, log)
    return executeStep(
      this.registry,
      { ...task, taskId: 0 },
      {
        // log data crosses as JSON, as it does from a worker
        log: stepLogger((level, msg, data) =>
          log(level, msg, data === undefined ? undefined : JSON.parse(data)),
        ),
        signal,
        credentials: () => Promise.reject(new Error('inline actions take no credentials')),
      },
    )
  }

  /** Only built-in pieces may run on the engine's thread: a piece from a package could stall it. */
  runsInline(uses: string): boolean {
    let inline = this.inline.get(uses)
    if (inline === undefined) {
      const action = this.registry.action(uses)
      inline =
        this.inlineAllowed &&
        action?.inline === true &&
        this.registry.origin(splitUses(uses)[0]) === 'builtin'
      this.inline.set(uses, inline)
    }
    return inline
  }
}
