// Which process holds which run. A process claims runs that nobody holds (passivated ones whose
// timer is due, or those of a process whose lease ran out), renews its leases while alive, and lets
// go of a run when it passivates. On PostgreSQL, claims take rows with FOR UPDATE SKIP LOCKED so that
// concurrent processes never claim the same run.
import type { Knex } from '@mikro-orm/knex'
import type { DatabaseKind } from './orm.js'

export interface ClaimOptions {
  now: number
  /** Waiting runs are claimed when their first timer is due before now + horizon. */
  horizonMs: number
  limit: number
  /** Take runs whatever their lease says (a single-process database at start). */
  ignoreLeases?: boolean
}

export class Leases {
  constructor(
    private readonly knex: Knex,
    private readonly kind: DatabaseKind,
    readonly owner: string,
    readonly leaseMs: number,
  ) {}

  async claim(options: ClaimOptions): Promise<string[]> {
    const lease = options.ignoreLeases ? '' : 'and (r.owner is null or r.lease_until < ?)'
    const lock = this.kind === 'postgres' ? 'for update skip locked' : ''
    const sql = `
      update runs set owner = ?, lease_until = ?
      where id in (
        select r.id from runs r
        where r.status in ('queued', 'running', 'waiting') ${lease}
          and (r.status <> 'waiting' or exists (
            select 1 from step_states s where s.run_id = r.id and s.status = 'waiting' and s.wake_at <= ?))
        order by r.created_at
        limit ? ${lock})
      returning id`
    const bindings = [
      this.owner,
      options.now + this.leaseMs,
      ...(options.ignoreLeases ? [] : [options.now]),
      options.now + options.horizonMs,
      options.limit,
    ]
    const result = await this.knex.raw(sql, bindings)
    const rows: { id: string }[] = Array.isArray(result) ? result : result.rows
    return rows.map((r) => r.id)
  }

  /** Extends every lease this process holds. */
  async renew(now: number): Promise<void> {
    await this.knex('runs')
      .where({ owner: this.owner })
      .whereIn('status', ['queued', 'running', 'waiting'])
      .update({ lease_until: now + this.leaseMs })
  }
}
