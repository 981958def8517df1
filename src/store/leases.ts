// Which process holds which run. A process claims runs that nobody holds (passivated ones whose
// timer is due, or those of a process whose lease ran out), renews its leases while alive, and lets
// go of a run when it passivates. The claiming UPDATE re-checks ownership row by row, so concurrent
// processes on one PostgreSQL never claim the same run.
import type { Knex } from '@mikro-orm/knex'

export interface ClaimOptions {
  now: number
  /** Waiting runs are claimed when their first timer is due before now + horizon. */
  horizonMs: number
  limit: number
  /** Take runs that other owners hold, whatever their lease says (a single-process database). */
  ignoreLeases?: boolean
}

export class Leases {
  constructor(
    private readonly knex: Knex,
    readonly owner: string,
    readonly leaseMs: number,
  ) {}

  async claim(options: ClaimOptions): Promise<string[]> {
    // two indexed look-ups: timers that are due, and runs in flight that nobody holds any more;
    // waiting runs whose timers are not due are never read, however many there are
    const due = this.knex('step_states')
      .distinct('run_id')
      .where('status', 'waiting')
      .andWhere('wake_at', '<=', options.now + options.horizonMs)
      .limit(options.limit)
    const orphans = this.knex('runs')
      .select('id')
      .whereIn('status', ['queued', 'running'])
      .andWhere((q) => {
        q.whereNull('owner').orWhere('lease_until', '<', options.now)
        if (options.ignoreLeases) q.orWhereNot('owner', this.owner)
      })
      .limit(options.limit)
    const [dueRows, orphanRows] = await Promise.all([due, orphans])
    const ids = [
      ...new Set([...dueRows.map((r) => r.run_id as string), ...orphanRows.map((r) => r.id as string)]),
    ]
    if (ids.length === 0) return []
    // the update re-checks ownership row by row, so two processes never both win a run
    const claimed: { id: string }[] = await this.knex('runs')
      .whereIn('id', ids)
      .whereIn('status', ['queued', 'running', 'waiting'])
      .andWhere((q) => {
        q.whereNull('owner').orWhere('lease_until', '<', options.now)
        if (options.ignoreLeases) q.orWhereNot('owner', this.owner)
      })
      .update({ owner: this.owner, lease_until: options.now + this.leaseMs })
      .returning('id')
    return claimed.map((r) => (typeof r === 'object' ? r.id : String(r)))
  }

  /** Extends every lease this process holds. */
  async renew(now: number): Promise<void> {
    await this.knex('runs')
      .where({ owner: this.owner })
      .whereIn('status', ['queued', 'running', 'waiting'])
      .update({ lease_until: now + this.leaseMs })
  }
}
