// Which process holds which run. A process claims runs that nobody holds (passivated ones whose
// timer is due, or those of a process whose lease ran out), renews its leases while alive, and lets
// go of a run when it passivates. The claiming UPDATE re-checks ownership row by row, so concurrent
// processes on one PostgreSQL never claim the same run, and raises the run's lease epoch: the
// fencing token every later write for the run must carry (src/store/checkpoints.ts). Lease times
// come from the database's clock on PostgreSQL, so that hosts whose clocks differ agree on them.
import type { Knex } from '@mikro-orm/knex'
import type { HotReads } from './orm.js'

const ACTIVE = ['queued', 'running', 'waiting']
/** The database's clock in epoch ms (PostgreSQL). */
const PG_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint'

export interface ClaimOptions {
  now: number
  /** Waiting runs are claimed when their first timer is due before now + horizon. */
  horizonMs: number
  limit: number
  /** Take runs that other owners hold, whatever their lease says (a single-process database). */
  ignoreLeases?: boolean
  /**
   * Narrows the runs found to those the caller may take now (not being taken by it already), and
   * marks them as being taken: the caller ends that once it has resumed them.
   */
  reserve?: (ids: string[]) => string[]
}

export interface Claimed {
  id: string
  /** The run's lease epoch after this claim: writes for the run carry it. */
  epoch: number
  /**
   * Whether a process held the run when it was claimed: it died, or stalled past its lease. A run
   * let go of cleanly (passivated, or released by a graceful shutdown) has no owner.
   */
  takenOver: boolean
}

export class Leases {
  constructor(
    private readonly knex: Knex,
    readonly owner: string,
    readonly leaseMs: number,
    private readonly kind: 'sqlite' | 'postgres' = 'sqlite',
    /** Prepared statements for the hot path of `take` (a signal waking a passivated run). */
    private readonly reads?: HotReads,
  ) {}

  /** Now, in epoch ms: the database's clock on PostgreSQL; on SQLite (one host) this process's. */
  private now(local: number): Knex.Raw | number {
    if (this.kind === 'sqlite') return local
    return this.knex.raw('(extract(epoch from clock_timestamp()) * 1000)::bigint')
  }

  private until(local: number): Knex.Raw | number {
    if (this.kind === 'sqlite') return local + this.leaseMs
    return this.knex.raw('(extract(epoch from clock_timestamp()) * 1000)::bigint + ?', [this.leaseMs])
  }

  /**
   * Runs this process may take: nobody holds them, or their lease has run out (this process's own
   * too: a run it dropped, or held while it stalled, is taken back with a new epoch).
   */
  private claimable(q: Knex.QueryBuilder, now: number, ignoreLeases?: boolean): void {
    q.whereNull('owner').orWhere('lease_until', '<', this.now(now))
    if (ignoreLeases) q.orWhereNot('owner', this.owner)
  }

  async claim(options: ClaimOptions): Promise<Claimed[]> {
    // two indexed look-ups: timers that are due, and runs in flight that nobody holds any more;
    // waiting runs whose timers are not due are never read, however many there are
    const due = this.knex('step_states')
      .distinct('run_id')
      .where('status', 'waiting')
      .andWhere('wake_at', '<=', options.now + options.horizonMs)
      .limit(options.limit)
    const orphans = this.knex('runs')
      .select('id', 'owner')
      .whereIn('status', ['queued', 'running'])
      .andWhere((q) => this.claimable(q, options.now, options.ignoreLeases))
      .limit(options.limit)
    // and passivated runs with a signal that one of their waiting steps waits for
    const signalled = this.knex('signals as s')
      .distinct('s.run_id')
      .join('step_states as st', (j) =>
        j.on('st.run_id', 's.run_id').andOn('st.wait_signal', 's.name').andOnVal('st.status', 'waiting'),
      )
      .whereNull('s.taken_at')
      .limit(options.limit)
    const [dueRows, orphanRows, signalledRows] = await Promise.all([due, orphans, signalled])
    const found = [
      ...new Set([
        ...dueRows.map((r) => r.run_id as string),
        ...orphanRows.map((r) => r.id as string),
        ...signalledRows.map((r) => r.run_id as string),
      ]),
    ]
    const ids = options.reserve ? options.reserve(found) : found
    if (ids.length === 0) return []
    // the update re-checks ownership row by row, so two processes never both win a run
    const claimed: { id: string; lease_epoch: number | string }[] = await this.knex('runs')
      .whereIn('id', ids)
      .whereIn('status', ['queued', 'running', 'waiting'])
      .andWhere((q) => this.claimable(q, options.now, options.ignoreLeases))
      .update({
        owner: this.owner,
        lease_until: this.until(options.now),
        lease_epoch: this.knex.raw('lease_epoch + 1'),
      })
      .returning(['id', 'lease_epoch'])
    const held = new Set(orphanRows.filter((r) => r.owner !== null).map((r) => r.id as string))
    return claimed.map((r) => ({ id: r.id, epoch: Number(r.lease_epoch), takenOver: held.has(r.id) }))
  }

  /** Takes one run now, if nobody else holds it (with `statuses` it may have): its new epoch. */
  async take(id: string, now: number, statuses: string[] = ACTIVE): Promise<number | undefined> {
    if (this.reads && statuses === ACTIVE) return this.takeActive(this.reads, id, now)
    // an ended run is held by nobody, whatever its row still says
    const ended = statuses.every((s) => s === 'succeeded' || s === 'failed' || s === 'cancelled')
    const query = this.knex('runs').where({ id }).whereIn('status', statuses)
    if (!ended)
      query.andWhere((q) =>
        q.whereNull('owner').orWhere('owner', this.owner).orWhere('lease_until', '<', this.now(now)),
      )
    const [row]: { lease_epoch: number | string }[] = await query
      .update({
        owner: this.owner,
        lease_until: this.until(now),
        lease_epoch: this.knex.raw('lease_epoch + 1'),
      })
      .returning(['lease_epoch'])
    return row === undefined ? undefined : Number(row.lease_epoch)
  }

  /** Takes the unfinished runs among these that nobody else holds, each with a new epoch. */
  async takeMany(ids: string[], now: number): Promise<Claimed[]> {
    if (this.reads) return this.takeManyActive(this.reads, ids, now)
    const rows: { id: string; lease_epoch: number | string }[] = await this.knex('runs')
      .whereIn('id', ids)
      .whereIn('status', ACTIVE)
      .andWhere((q) =>
        q.whereNull('owner').orWhere('owner', this.owner).orWhere('lease_until', '<', this.now(now)),
      )
      .update({
        owner: this.owner,
        lease_until: this.until(now),
        lease_epoch: this.knex.raw('lease_epoch + 1'),
      })
      .returning(['id', 'lease_epoch'])
    return rows.map((r) => ({ id: r.id, epoch: Number(r.lease_epoch), takenOver: false }))
  }

  /** `take` of an unfinished run as one prepared statement. */
  private async takeActive(reads: HotReads, id: string, now: number): Promise<number | undefined> {
    const { sql, values } = this.takeStatement({ sql: 'id = ?', value: id }, now)
    const row = await reads.first<{ lease_epoch: number | string }>(sql, values)
    return row === undefined ? undefined : Number(row.lease_epoch)
  }

  /** `takeMany` as one prepared statement, whatever the number of runs. */
  private async takeManyActive(reads: HotReads, ids: string[], now: number): Promise<Claimed[]> {
    const { sql, values } = this.takeStatement(reads.anyOf('id', ids), now)
    const rows = await reads.all<{ id: string; lease_epoch: number | string }>(sql, values)
    return rows.map((r) => ({ id: r.id, epoch: Number(r.lease_epoch), takenOver: false }))
  }

  /**
   * The statement that takes the unfinished runs `where` picks, unless another process holds them:
   * the clock as in `now`/`until` (the database's on PostgreSQL).
   */
  private takeStatement(where: { sql: string; value: unknown }, now: number) {
    const sqlite = this.kind === 'sqlite'
    // `+status`: SQLite would look the runs up by status (every waiting run), not by id
    const status = sqlite ? '+status' : 'status'
    const sql =
      `update runs set owner = ?, lease_until = ${sqlite ? '?' : `${PG_NOW} + ?`}, lease_epoch = lease_epoch + 1` +
      ` where ${where.sql} and ${status} in ('queued', 'running', 'waiting')` +
      ` and (owner is null or owner = ? or lease_until < ${sqlite ? '?' : PG_NOW}) returning id, lease_epoch`
    const values = sqlite
      ? [this.owner, now + this.leaseMs, where.value, this.owner, now]
      : [this.owner, this.leaseMs, where.value, this.owner]
    return { sql, values }
  }

  /** Asks the holder of an unfinished run to cancel it; false when the run has ended. */
  async requestCancel(id: string, now: number): Promise<boolean> {
    const rows = await this.knex('runs')
      .where({ id })
      .whereIn('status', ['queued', 'running', 'waiting'])
      .update({ cancel_requested_at: now })
      .returning(['id'])
    return rows.length > 0
  }

  /**
   * News in the database for the runs this process holds, in one round trip: cancels asked through
   * another process, and signals not taken yet (stored by another process, or a child's end).
   */
  async news(): Promise<{ cancels: string[]; signals: string[] }> {
    const active = ['queued', 'running', 'waiting']
    const cancels = this.knex('runs')
      .select('id', this.knex.raw("'cancel' as news"))
      .whereNotNull('cancel_requested_at')
      .andWhere({ owner: this.owner })
      .whereIn('status', active)
    const signals = this.knex('signals as s')
      .distinct('s.run_id as id', this.knex.raw("'signal' as news"))
      .join('runs as r', 'r.id', 's.run_id')
      .whereNull('s.taken_at')
      .andWhere('r.owner', this.owner)
      .whereIn('r.status', active)
    const rows: { id: string; news: string }[] = await cancels.unionAll(signals)
    const of = (news: string) => rows.filter((r) => r.news === news).map((r) => r.id)
    return { cancels: of('cancel'), signals: of('signal') }
  }

  /**
   * Extends the leases of the runs this process holds in memory (only those: a run it dropped
   * must expire, so that it is taken again); answers those it still holds.
   */
  async renew(now: number, held: string[]): Promise<Set<string>> {
    const renewed = new Set<string>()
    for (let i = 0; i < held.length; i += 500) {
      const rows: { id: string }[] = await this.knex('runs')
        .whereIn('id', held.slice(i, i + 500))
        .andWhere({ owner: this.owner })
        .whereIn('status', ['queued', 'running', 'waiting'])
        .update({ lease_until: this.until(now) })
        .returning(['id'])
      for (const row of rows) renewed.add(row.id)
    }
    return renewed
  }

  /** Of these runs, the ones this process no longer holds with the given epoch. */
  async lost(held: Map<string, number>): Promise<string[]> {
    if (held.size === 0) return []
    const rows: { id: string; owner: string | null; lease_epoch: number | string }[] = await this.knex('runs')
      .select('id', 'owner', 'lease_epoch')
      .whereIn('id', [...held.keys()])
    return rows
      .filter((r) => r.owner !== this.owner || Number(r.lease_epoch) !== held.get(r.id))
      .map((r) => r.id)
  }

  /** Lets go of every run this process holds: at a graceful stop, they are claimable at once. */
  async releaseAll(): Promise<void> {
    await this.knex('runs').where({ owner: this.owner }).update({ owner: null, lease_until: null })
  }
}
