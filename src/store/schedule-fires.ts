// The rows of schedule fires: one per workflow and due time, so that a due time fires once across
// every process. The scheduler (src/triggers/schedules.ts) decides when; this is how it is stored.
import type { Knex } from '@mikro-orm/knex'

export interface FireToRepair {
  workflow_id: string
  due_at: unknown
  fired_at: unknown
  run_id: string
}

export class ScheduleFires {
  constructor(private readonly knex: Knex) {}

  /** The latest due time that fired (or was skipped) for a workflow, if any. */
  async lastDue(workflowId: string): Promise<number | undefined> {
    const last = await this.knex('schedule_fires')
      .where({ workflow_id: workflowId })
      .max({ at: 'due_at' })
      .first()
    return last?.at != null ? Number(last.at) : undefined
  }

  /** Whether a run of the workflow is still going (an `overlap: skip` schedule waits for it). */
  async runInFlight(workflowId: string): Promise<boolean> {
    const run = await this.knex('runs')
      .where({ workflow_id: workflowId })
      .whereIn('status', ['queued', 'running', 'waiting'])
      .first('id')
    return run !== undefined
  }

  /**
   * Records a due time once: false when another process, or an earlier life of this one, recorded
   * it already. With `runId`, the run it starts (fixed here, before the run is stored).
   */
  async record(workflowId: string, dueAt: number, firedAt: number, runId: string | null): Promise<boolean> {
    const inserted = await this.knex('schedule_fires')
      .insert({
        workflow_id: workflowId,
        due_at: dueAt,
        fired_at: firedAt,
        run_id: runId,
        outcome: runId ? 'started' : 'skipped',
      })
      .onConflict(['workflow_id', 'due_at'])
      .ignore()
      .returning('due_at')
    return inserted.length > 0
  }

  /** A fire whose run could not start (its workflow was deleted meanwhile) is recorded as skipped. */
  async skipped(workflowId: string, dueAt: number): Promise<void> {
    await this.knex('schedule_fires')
      .where({ workflow_id: workflowId, due_at: dueAt })
      .update({ outcome: 'skipped', run_id: null })
  }

  /** Fires whose run was never stored (the process died in between), of workflows still live. */
  toRepair(): Promise<FireToRepair[]> {
    return this.knex('schedule_fires as f')
      .leftJoin('runs as r', 'r.id', 'f.run_id')
      .join('workflows as w', 'w.id', 'f.workflow_id')
      .where('f.outcome', 'started')
      .whereNull('r.id')
      .whereNull('w.deleted_at')
      .select('f.workflow_id', 'f.due_at', 'f.fired_at', 'f.run_id')
  }
}
