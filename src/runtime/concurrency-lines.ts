// Runs held back by their workflow's `concurrency`: each waits `queued` in its workflow's line,
// oldest first, until a place is free (a run of the workflow ended here, or a poll finds that one
// ended in another process). Places are taken in the database (src/store/admission.ts), so the
// limit holds across processes; the lines are this process's.

import { RUN_ENDED } from '../model/status.js'
import type { NewRunRow } from '../store/checkpoints.js'
import type { Supervisor } from './supervisor.js'

export interface LinesHost {
  /** Whether the supervisor still runs its run here (not dropped or replaced). */
  holds(supervisor: Supervisor): boolean
  /** Takes one of the workflow's `limit` places for the run; false when all are taken. */
  takePlace(supervisor: Supervisor, limit: number): Promise<boolean>
  /** Stores a new run's row (`queued`) before it waits for a place. */
  store(row: NewRunRow): Promise<void>
}

export class ConcurrencyLines {
  private readonly lines = new Map<string, Supervisor[]>()
  private admitting: Promise<void> | undefined

  constructor(private readonly host: LinesHost) {}

  /**
   * Starts a queued run, unless its workflow's `concurrency` is reached: then it stays `queued`
   * in its workflow's line until a place is free.
   */
  async admit(supervisor: Supervisor, inserting?: NewRunRow): Promise<void> {
    const limit = supervisor.workflow.definition.concurrency
    if (limit === undefined) return supervisor.start(inserting)
    // under a limit the run is stored first, `queued`, and takes its place in the database
    if (inserting) await this.host.store(inserting)
    if (RUN_ENDED.has(supervisor.state.status)) return
    if (await this.host.takePlace(supervisor, limit)) return supervisor.start()
    const line = this.lines.get(supervisor.workflow.id) ?? []
    if (!line.includes(supervisor)) line.push(supervisor)
    this.lines.set(supervisor.workflow.id, line)
  }

  /**
   * Starts queued runs whose workflow has a free place again, oldest first: when a run ends here,
   * and at every poll. Nothing to do, at once, when none is queued (most workflows).
   */
  next(): void {
    if (this.lines.size === 0) return
    this.admitting ??= this.admitLines()
      .catch(() => {})
      .finally(() => {
        this.admitting = undefined
      })
  }

  private async admitLines(): Promise<void> {
    for (const [workflowId, line] of this.lines) {
      while (line.length > 0) {
        const next = line[0]!
        const gone = next.isStopped || !this.host.holds(next)
        if (gone || next.state.status !== 'queued') {
          line.shift()
          continue
        }
        const limit = next.workflow.definition.concurrency ?? Number.POSITIVE_INFINITY
        if (!(await this.host.takePlace(next, limit))) break
        line.shift()
        void next.start()
      }
      if (line.length === 0) this.lines.delete(workflowId)
    }
  }
}
