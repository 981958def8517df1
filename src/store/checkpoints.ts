// The checkpoint writer: every change to runs, steps and run logs goes through here. Writes that
// arrive while a transaction is in flight are grouped into the next one (group commit), and each
// caller is answered only once its rows are durable. On SQLite a batch is written synchronously
// with prepared statements on knex's own connection; on PostgreSQL through knex.
import type { Knex } from '@mikro-orm/knex'
import type { Database, SqliteConnection } from './orm.js'

export interface NewRunRow {
  id: string
  workflow_id: string
  workflow_version: number
  status: string
  input: string
  created_at: number
  owner: string | null
  lease_until: number | null
}

export interface RunPatch {
  id: string
  status?: string
  output?: string | null
  error?: string | null
  started_at?: number | null
  finished_at?: number | null
  owner?: string | null
  lease_until?: number | null
}

export interface StepRow {
  run_id: string
  step_id: string
  status: string
  attempts: number
  handle: string | null
  output: string | null
  error: string | null
  wake_at: number | null
  started_at: number | null
  finished_at: number | null
}

export interface LogRow {
  run_id: string
  step_id: string | null
  ts: number
  level: string
  msg: string
  data: string | null
}

export interface Checkpoint {
  newRuns?: NewRunRow[]
  runs?: RunPatch[]
  steps?: StepRow[]
  logs?: LogRow[]
}

/** Rows per statement, under SQLite's limit on bound variables. */
const CHUNK = 200

export class CheckpointWriter {
  private newRuns: NewRunRow[] = []
  private runs = new Map<string, RunPatch>()
  private steps = new Map<string, StepRow>()
  private logs: LogRow[] = []
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = []
  private flushing: Promise<void> | undefined
  private scheduled = false
  /** Transactions committed and rows written, for metrics and benchmarks. */
  readonly stats = { commits: 0, rows: 0 }

  constructor(private readonly executor: CheckpointExecutor) {}

  /** Resolves when every row of this checkpoint is durable. */
  write(checkpoint: Checkpoint): Promise<void> {
    this.add(checkpoint)
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      this.schedule()
    })
  }

  /** Log lines need no answer: they ride along with the next commit. */
  log(row: LogRow): void {
    this.logs.push(row)
    this.schedule()
  }

  /** Resolves once everything handed over so far is durable. */
  async drain(): Promise<void> {
    while (this.flushing || this.pending()) {
      if (this.flushing) await this.flushing.catch(() => {})
      else await this.write({})
    }
  }

  private add({ newRuns, runs, steps, logs }: Checkpoint): void {
    if (newRuns) this.newRuns.push(...newRuns)
    for (const patch of runs ?? []) this.runs.set(patch.id, { ...this.runs.get(patch.id), ...patch })
    for (const row of steps ?? []) this.steps.set(`${row.run_id}\u0000${row.step_id}`, row)
    if (logs) this.logs.push(...logs)
  }

  private pending(): boolean {
    return (
      this.newRuns.length + this.runs.size + this.steps.size + this.logs.length > 0 || this.waiters.length > 0
    )
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined
        if (this.pending()) this.schedule()
      })
    })
  }

  private async flush(): Promise<void> {
    const batch: Batch = {
      newRuns: this.newRuns,
      runs: [...this.runs.values()],
      steps: [...this.steps.values()],
      logs: this.logs,
    }
    const waiters = this.waiters
    this.newRuns = []
    this.runs = new Map()
    this.steps = new Map()
    this.logs = []
    this.waiters = []
    try {
      const rows = batch.newRuns.length + batch.runs.length + batch.steps.length + batch.logs.length
      if (rows > 0) {
        await this.executor.commit(batch)
        this.stats.commits++
        this.stats.rows += rows
      }
      for (const waiter of waiters) waiter.resolve()
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error)
    }
  }
}

/** The rows of one group commit. */
export interface Batch {
  newRuns: NewRunRow[]
  runs: RunPatch[]
  steps: StepRow[]
  logs: LogRow[]
}

/**
 * Writes a batch in one transaction: inserts new runs, upserts step states on (run_id, step_id),
 * updates runs (see `bulkRunUpdates`) and inserts log lines. Resolves once the batch is committed.
 */
export interface CheckpointExecutor {
  commit(batch: Batch): Promise<void>
}

/** The executor for a database: synchronous prepared statements on SQLite, knex on PostgreSQL. */
export function checkpointExecutor(db: Pick<Database, 'knex' | 'sqlite'>): CheckpointExecutor {
  return db.sqlite ? new SqliteExecutor(db.sqlite) : new KnexExecutor(db.knex)
}

export class KnexExecutor implements CheckpointExecutor {
  constructor(private readonly knex: Knex) {}

  async commit(batch: Batch): Promise<void> {
    const statements: ((db: Knex) => Promise<unknown>)[] = [
      ...[...chunks(batch.newRuns)].map((chunk) => (db: Knex) => db('runs').insert(chunk)),
      ...[...chunks(batch.steps)].map(
        (chunk) => (db: Knex) => db('step_states').insert(chunk).onConflict(['run_id', 'step_id']).merge(),
      ),
      ...bulkRunUpdates(batch.runs).map(
        ([sql, bindings]) =>
          (db: Knex) =>
            db.raw(sql, bindings),
      ),
      ...[...chunks(batch.logs)].map((chunk) => (db: Knex) => db('run_logs').insert(chunk)),
    ]
    // one statement is atomic by itself: BEGIN and COMMIT would only add two round trips
    if (statements.length === 1) await statements[0]!(this.knex)
    else {
      await this.knex.transaction(async (trx) => {
        for (const statement of statements) await statement(trx)
      })
    }
  }
}

const RUN_COLUMNS = [
  'id',
  'workflow_id',
  'workflow_version',
  'status',
  'input',
  'created_at',
  'owner',
  'lease_until',
] as const satisfies readonly (keyof NewRunRow)[]
const STEP_COLUMNS = [
  'run_id',
  'step_id',
  'status',
  'attempts',
  'handle',
  'output',
  'error',
  'wake_at',
  'started_at',
  'finished_at',
] as const satisfies readonly (keyof StepRow)[]
const LOG_COLUMNS = [
  'run_id',
  'step_id',
  'ts',
  'level',
  'msg',
  'data',
] as const satisfies readonly (keyof LogRow)[]

const INSERT_RUN = `insert into runs (${RUN_COLUMNS.join(', ')}) values (${RUN_COLUMNS.map(() => '?').join(', ')})`
const UPSERT_STEP =
  `insert into step_states (${STEP_COLUMNS.join(', ')}) values (${STEP_COLUMNS.map(() => '?').join(', ')})` +
  ` on conflict (run_id, step_id) do update set ${STEP_COLUMNS.filter(
    (c) => c !== 'run_id' && c !== 'step_id',
  )
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}`
const INSERT_LOG = `insert into run_logs (${LOG_COLUMNS.join(', ')}) values (${LOG_COLUMNS.map(() => '?').join(', ')})`

/** Prepared statements kept at most (the bulk run updates' text varies with the batch). */
const MAX_STATEMENTS = 256

/**
 * SQLite through the synchronous binding: a batch is one transaction of prepared statements run
 * on the main thread, without knex's query building, pool and promise per statement. A row costs a
 * few microseconds, so inserts and upserts go row by row through one fixed statement each.
 */
export class SqliteExecutor implements CheckpointExecutor {
  private readonly statements = new Map<string, { run(...bindings: unknown[]): unknown }>()
  private readonly write: (batch: Batch) => void

  constructor(private readonly db: SqliteConnection) {
    this.write = db.transaction((batch: Batch) => {
      if (batch.newRuns.length > 0) {
        const insert = this.statement(INSERT_RUN)
        for (const row of batch.newRuns) insert.run(RUN_COLUMNS.map((c) => binding(row[c])))
      }
      if (batch.steps.length > 0) {
        const upsert = this.statement(UPSERT_STEP)
        for (const row of batch.steps) upsert.run(STEP_COLUMNS.map((c) => binding(row[c])))
      }
      for (const [sql, bindings] of bulkRunUpdates(batch.runs)) this.statement(sql).run(bindings.map(binding))
      if (batch.logs.length > 0) {
        const insert = this.statement(INSERT_LOG)
        for (const row of batch.logs) insert.run(LOG_COLUMNS.map((c) => binding(row[c])))
      }
    })
  }

  async commit(batch: Batch): Promise<void> {
    // knex may hold a transaction of its own open on this same connection across awaits (a claim,
    // `em.transactional`, a migration): never write into it, wait until it has ended
    while (this.db.inTransaction) await new Promise((resolve) => setImmediate(resolve))
    // synchronous: once it returns, the transaction is committed
    this.write(batch)
  }

  private statement(sql: string): { run(...bindings: unknown[]): unknown } {
    let statement = this.statements.get(sql)
    if (!statement) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.delete(this.statements.keys().next().value!)
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }
}

/** A value as knex hands it to the binding: no undefined, booleans as numbers, dates as epoch ms. */
function binding(value: unknown): unknown {
  if (value === undefined) return null
  if (typeof value === 'boolean') return Number(value)
  if (value instanceof Date) return value.valueOf()
  return value
}

const BIGINT_COLUMNS = new Set(['started_at', 'finished_at', 'lease_until'])

/**
 * Run patches as few statements as possible: patches that set the same columns become one
 * `UPDATE … SET col = CASE id WHEN … END` (one statement costs far more than one row in it).
 */
export function bulkRunUpdates(patches: RunPatch[]): [string, Knex.RawBinding[]][] {
  const groups = new Map<string, RunPatch[]>()
  for (const patch of patches) {
    const key = Object.keys(patch)
      .filter((k) => k !== 'id' && patch[k as keyof RunPatch] !== undefined)
      .sort()
      .join(',')
    if (key) groups.set(key, [...(groups.get(key) ?? []), patch])
  }
  const statements: [string, Knex.RawBinding[]][] = []
  for (const [key, group] of groups) {
    const columns = key.split(',') as (keyof RunPatch)[]
    for (const part of chunks(group)) {
      const bindings: Knex.RawBinding[] = []
      const sets = columns.map((column) => {
        const cast = BIGINT_COLUMNS.has(column) ? 'cast(? as bigint)' : '?'
        const cases = part.map((patch) => {
          bindings.push(patch.id, patch[column] as Knex.RawBinding)
          return `when ? then ${cast}`
        })
        return `${column} = case id ${cases.join(' ')} end`
      })
      bindings.push(...part.map((patch) => patch.id))
      statements.push([
        `update runs set ${sets.join(', ')} where id in (${part.map(() => '?').join(', ')})`,
        bindings,
      ])
    }
  }
  return statements
}

function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += CHUNK) yield rows.slice(i, i + CHUNK)
}
