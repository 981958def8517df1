// Deleting ended runs for `runs.retention`: one batch of runs of one status at a time, with their
// step rows and log lines, in one transaction. Only ended runs that nobody holds are touched, so a
// failed run being retried (taken, still `failed` until its first checkpoint) is never deleted.
import type { Knex } from '@mikro-orm/knex'
import type { Database } from './orm.js'

export type EndedStatus = 'succeeded' | 'failed' | 'cancelled'

/** Which runs a batch may delete: those of one status (and one workflow) that ended before a time. */
export interface PruneSelection {
  status: EndedStatus
  /** Epoch ms: runs whose `finished_at` is earlier. */
  endedBefore: number
  workflowId?: string
}

export interface PrunedRows {
  runs: number
  steps: number
  logs: number
}

/**
 * Deletes up to `limit` runs of the selection, oldest first, with their step rows and log lines, in
 * one transaction. On PostgreSQL the runs are locked first, skipping those another transaction
 * holds: two pruners at once take different runs, and a run being claimed or retried right then is
 * left alone. A schedule's fire of a deleted run is marked `pruned`, so that the scheduler does not
 * take it for a fire whose run was never stored and start it again.
 */
export async function pruneBatch(
  db: Pick<Database, 'knex' | 'kind'>,
  selection: PruneSelection,
  limit: number,
): Promise<PrunedRows> {
  return db.knex.transaction(async (trx) => {
    const candidates = trx('runs')
      .select('id')
      .where('status', selection.status)
      .andWhere('finished_at', '<', selection.endedBefore)
      .andWhere((q) => q.whereNull('owner').orWhere('lease_until', '<', leaseNow(trx, db.kind)))
      .orderBy('finished_at')
      .limit(limit)
    if (selection.workflowId !== undefined) candidates.andWhere('workflow_id', selection.workflowId)
    if (db.kind === 'postgres') candidates.forUpdate().skipLocked()
    const ids = ((await candidates) as { id: string }[]).map((r) => r.id)
    if (ids.length === 0) return { runs: 0, steps: 0, logs: 0 }
    const logs = await trx('run_logs').whereIn('run_id', ids).delete()
    const steps = await trx('step_states').whereIn('run_id', ids).delete()
    // a forEach step's items and the run's signals go with it
    await trx('step_items').whereIn('run_id', ids).delete()
    await trx('signals').whereIn('run_id', ids).delete()
    await trx('schedule_fires').whereIn('run_id', ids).update({ outcome: 'pruned' })
    const runs = await trx('runs').whereIn('id', ids).delete()
    return { runs, steps, logs }
  })
}

/**
 * Deletes up to `limit` schedule fires that tell the scheduler nothing any more: fires whose run was
 * pruned, and due times skipped, when a later due time of the same workflow is recorded. The latest
 * fire of each workflow stays (the scheduler fires only due times after it), and so does every
 * fire whose run is still stored. Answers how many went.
 */
export async function pruneFires(knex: Knex, limit: number): Promise<number> {
  const stale = (await knex('schedule_fires as f')
    .select('f.workflow_id', 'f.due_at')
    .whereIn('f.outcome', ['pruned', 'skipped'])
    .andWhere(
      'f.due_at',
      '<',
      knex('schedule_fires as m').max('m.due_at').whereRaw('m.workflow_id = f.workflow_id'),
    )
    .limit(limit)) as { workflow_id: string; due_at: number | string }[]
  const byWorkflow = new Map<string, (number | string)[]>()
  for (const fire of stale)
    byWorkflow.set(fire.workflow_id, [...(byWorkflow.get(fire.workflow_id) ?? []), fire.due_at])
  let deleted = 0
  for (const [workflowId, dues] of byWorkflow)
    deleted += await knex('schedule_fires').where('workflow_id', workflowId).whereIn('due_at', dues).delete()
  return deleted
}

/** Now for lease times: the database's clock on PostgreSQL (as leases.ts), this process's on SQLite. */
function leaseNow(knex: Knex, kind: Database['kind']): Knex.Raw | number {
  return kind === 'postgres' ? knex.raw('(extract(epoch from clock_timestamp()) * 1000)::bigint') : Date.now()
}

/**
 * When the `keep`-th newest run of the workflow with this status ended: runs that ended earlier are
 * beyond the count (runs that ended in that same millisecond are kept too). Undefined when the
 * workflow has no more than `keep` such runs.
 */
export async function keepBoundary(
  knex: Knex,
  workflowId: string,
  status: EndedStatus,
  keep: number,
): Promise<number | undefined> {
  if (keep === 0) return Number.MAX_SAFE_INTEGER
  const row = (await knex('runs')
    .select('finished_at')
    .where({ workflow_id: workflowId, status })
    .whereNotNull('finished_at')
    .orderBy('finished_at', 'desc')
    .offset(keep - 1)
    .limit(1)
    .first()) as { finished_at: number | string } | undefined
  return row === undefined ? undefined : Number(row.finished_at)
}

/** Every workflow that may have runs, deleted ones included (their runs stay until pruned). */
export async function workflowIds(knex: Knex): Promise<string[]> {
  const rows: { id: string }[] = await knex('workflows').select('id').orderBy('id')
  return rows.map((r) => r.id)
}
