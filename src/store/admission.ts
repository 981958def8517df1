// A workflow's `concurrency` across every process on the database: a queued run takes a place by
// becoming `running`, in one transaction that counts the runs of its workflow in flight (`running`
// or `waiting`, passivated ones too) under a lock per workflow: a PostgreSQL advisory lock; SQLite
// has one writer at a time.
import type { Knex } from '@mikro-orm/knex'

export async function takePlace(
  knex: Knex,
  kind: 'sqlite' | 'postgres',
  run: { id: string; workflowId: string; owner: string },
  limit: number,
): Promise<boolean> {
  return knex.transaction(async (trx) => {
    if (kind === 'postgres')
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`piecework:concurrency:${run.workflowId}`])
    const [row] = await trx('runs')
      .where({ workflow_id: run.workflowId })
      .whereIn('status', ['running', 'waiting'])
      .count({ n: '*' })
    if (Number(row?.n ?? 0) >= limit) return false
    const taken = await trx('runs')
      .where({ id: run.id, status: 'queued', owner: run.owner })
      .update({ status: 'running' })
    return Number(taken) > 0
  })
}
