// What the run monitor's workflow list shows of each workflow's runs: how many runs of each status
// were created since a time, and the newest run.
import type { Knex } from '@mikro-orm/knex'
import type { RunStatus } from '../model/status.js'

export interface WorkflowRunStats {
  workflowId: string
  /** Runs created since the time asked, by status (a status without runs is left out). */
  counts: Partial<Record<RunStatus, number>>
  /** The newest run of the workflow, of any time. */
  lastRun: { id: string; status: RunStatus; createdAt: string } | null
}

/** One entry per id of `workflowIds`, in that order. */
export async function runStatsByWorkflow(
  knex: Knex,
  workflowIds: string[],
  since: number,
): Promise<WorkflowRunStats[]> {
  if (workflowIds.length === 0) return []
  const counted: { workflow_id: string; status: RunStatus; n: number | string }[] = await knex('runs')
    .select('workflow_id', 'status')
    .count({ n: '*' })
    .whereIn('workflow_id', workflowIds)
    .andWhere('created_at', '>=', since)
    .groupBy('workflow_id', 'status')
  const counts = new Map<string, WorkflowRunStats['counts']>()
  for (const row of counted) {
    const of = counts.get(row.workflow_id) ?? {}
    of[row.status] = Number(row.n)
    counts.set(row.workflow_id, of)
  }
  // one indexed look-up per workflow (workflow_id, created_at), whatever the number of runs
  const last = await Promise.all(
    workflowIds.map((id) =>
      knex('runs')
        .select('id', 'status', 'created_at')
        .where('workflow_id', id)
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .first(),
    ),
  )
  return workflowIds.map((workflowId, i) => {
    const row = last[i] as { id: string; status: RunStatus; created_at: number | string } | undefined
    return {
      workflowId,
      counts: counts.get(workflowId) ?? {},
      lastRun: row
        ? { id: row.id, status: row.status, createdAt: new Date(Number(row.created_at)).toISOString() }
        : null,
    }
  })
}
