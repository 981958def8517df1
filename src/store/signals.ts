// Signals sent to runs (v2 `flow.wait`, and a child run's end to the parent waiting for it), and
// the items of `forEach` steps, as rows. A signal is stored before it is acknowledged; the step
// that takes it marks it taken in the checkpoint of what it did with it (src/store/checkpoints.ts).
import type { Knex } from '@mikro-orm/knex'
import type { BufferedSignal } from '../model/signal.js'
import type { ItemRow } from './checkpoints.js'
import type { Database, HotReads, SqliteConnection } from './orm.js'

const ACTIVE = ['queued', 'running', 'waiting']

/** Stores a signal for a run that has not ended: its id, or undefined when the run has ended (or is not there). */
export async function insertSignal(
  reads: HotReads,
  runId: string,
  name: string,
  data: unknown,
  now: number,
): Promise<number | undefined> {
  // one statement: the run's status is checked where the row is written
  const row = await reads.first<{ id: number | string }>(INSERT_SIGNAL, [
    name,
    JSON.stringify(data ?? null),
    now,
    runId,
  ])
  return row === undefined ? undefined : Number(row.id)
}

/** The signals of these runs that no step has taken yet, oldest first. */
export async function untakenSignals(
  reads: HotReads,
  runIds: string[],
): Promise<Map<string, BufferedSignal[]>> {
  const byRun = new Map<string, BufferedSignal[]>()
  if (runIds.length === 0) return byRun
  const runs = reads.anyOf('run_id', runIds)
  const rows = await reads.all<{ id: number | string; run_id: string; name: string; data: string | null }>(
    `select id, run_id, name, data from signals where ${runs.sql} and taken_at is null order by id`,
    [runs.value],
  )
  for (const row of rows) {
    const list = byRun.get(row.run_id) ?? []
    list.push({ id: Number(row.id), name: row.name, data: row.data === null ? null : JSON.parse(row.data) })
    byRun.set(row.run_id, list)
  }
  return byRun
}

/** Runs with a step waiting for this signal with this key (a broadcast reaches them). */
export async function runsWaitingFor(knex: Knex, name: string, key: string | null): Promise<string[]> {
  const query = knex('step_states as st')
    .distinct('st.run_id')
    .join('runs as r', 'r.id', 'st.run_id')
    .where('st.wait_signal', name)
    .andWhere('st.status', 'waiting')
    .whereIn('r.status', ACTIVE)
  if (key === null) query.whereNull('st.wait_key')
  else query.andWhere('st.wait_key', key)
  const rows: { run_id: string }[] = await query
  return rows.map((r) => r.run_id)
}

/** The steps of a run that wait for a signal of this name (which takes it is the engine's call). */
export async function stepsWaitingFor(reads: HotReads, runId: string, name: string): Promise<string[]> {
  const rows = await reads.all<{ step_id: string }>(WAITING_STEPS, [name, runId])
  return rows.map((r) => r.step_id)
}

/** The signals of one run that no step has taken yet, oldest first (a prepared statement). */
export async function untakenSignalsOf(reads: HotReads, runId: string): Promise<BufferedSignal[]> {
  const rows = await reads.all<{ id: number | string; name: string; data: string | null }>(
    'select id, name, data from signals where run_id = ? and taken_at is null order by id',
    [runId],
  )
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    data: r.data === null ? null : JSON.parse(r.data),
  }))
}

/** The items of a `forEach` step that have ended. */
export async function endedItems(knex: Knex, runId: string, stepId: string): Promise<ItemRow[]> {
  return knex('step_items').where({ run_id: runId, step_id: stepId })
}

/** Child runs still going that their parent waits for (cancelled with it). */
export async function waitedChildren(knex: Knex, parentRunId: string): Promise<string[]> {
  const rows: { id: string }[] = await knex('runs')
    .select('id')
    .where({ parent_run_id: parentRunId, parent_waits: 1 })
    .whereIn('status', ACTIVE)
  return rows.map((r) => r.id)
}

/** A signal as stored: its id, and the steps of its run that wait for its name. */
export interface StoredSignal {
  id: number
  waiting: string[]
}

const INSERT_SIGNAL =
  'insert into signals (run_id, name, data, created_at)' +
  ' select id, cast(? as text), cast(? as text), cast(? as bigint) from runs' +
  " where id = ? and status in ('queued', 'running', 'waiting') returning id"
const WAITING_STEPS =
  "select step_id from step_states where wait_signal = ? and status = 'waiting' and run_id = ?"

interface Pending {
  args: [runId: string, name: string, data: unknown, now: number]
  resolve: (stored: StoredSignal | undefined) => void
  reject: (error: unknown) => void
}

/**
 * Stores signals, each durable before it is answered. On SQLite the signals that arrive in one turn
 * of the event loop share one transaction (as checkpoints share a commit); on PostgreSQL each is
 * one statement on the pool.
 */
export class SignalInbox {
  private queue: Pending[] = []
  private scheduled = false
  private readonly statements = new Map<string, ReturnType<SqliteConnection['prepare']>>()

  constructor(
    private readonly db: Pick<Database, 'sqlite'>,
    private readonly reads: HotReads,
  ) {}

  /** Stores a signal for a run that has not ended; undefined when it has ended (or is not there). */
  store(runId: string, name: string, data: unknown, now: number): Promise<StoredSignal | undefined> {
    if (!this.db.sqlite) return this.storeOne(runId, name, data, now)
    return new Promise((resolve, reject) => {
      this.queue.push({ args: [runId, name, data, now], resolve, reject })
      if (this.scheduled) return
      this.scheduled = true
      setImmediate(() => this.flush(this.db.sqlite!))
    })
  }

  private async storeOne(runId: string, name: string, data: unknown, now: number) {
    const id = await insertSignal(this.reads, runId, name, data, now)
    return id === undefined ? undefined : { id, waiting: await stepsWaitingFor(this.reads, runId, name) }
  }

  private flush(sqlite: SqliteConnection): void {
    // knex may hold a transaction open on this connection (a claim): never write into it
    if (sqlite.inTransaction) {
      setImmediate(() => this.flush(sqlite))
      return
    }
    const batch = this.queue
    this.queue = []
    this.scheduled = false
    const insert = this.statement(sqlite, INSERT_SIGNAL)
    const waiting = this.statement(sqlite, WAITING_STEPS)
    try {
      const stored = sqlite.transaction(() =>
        batch.map(({ args: [runId, name, data, now] }) => {
          const [row] = insert.all(name, JSON.stringify(data ?? null), now, runId) as { id: number }[]
          if (!row) return undefined
          const steps = waiting.all(name, runId) as { step_id: string }[]
          return { id: Number(row.id), waiting: steps.map((r) => r.step_id) }
        }),
      )()
      for (const [i, item] of batch.entries()) item.resolve(stored[i])
    } catch (error) {
      for (const item of batch) item.reject(error)
    }
  }

  private statement(sqlite: SqliteConnection, sql: string) {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = sqlite.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }
}
