// The checkpoint writer: every change to runs, steps and run logs goes through here. Writes that
// arrive while a transaction is in flight are grouped into the next one (group commit), and each
// caller is answered only once its rows are durable. On SQLite a batch is written synchronously
// with prepared statements on knex's own connection; on PostgreSQL through knex.
import type { Knex } from '@mikro-orm/knex'
import { type Database, pgQuery, type SqliteConnection } from './orm.js'

export interface NewRunRow {
  id: string
  workflow_id: string
  workflow_version: number
  status: string
  input: string
  created_at: number
  owner: string | null
  lease_until: number | null
  output?: string | null
  error?: string | null
  started_at?: number | null
  finished_at?: number | null
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

export class CheckpointWriter {
  private newRuns = new Map<string, NewRunRow>()
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
    for (const row of newRuns ?? []) this.newRuns.set(row.id, { ...row })
    for (const patch of runs ?? []) {
      // a run not inserted yet is inserted as patched: one row, and no update of a row not yet there
      const inserting = this.newRuns.get(patch.id)
      if (inserting) Object.assign(inserting, withoutUndefined(patch))
      else this.runs.set(patch.id, { ...this.runs.get(patch.id), ...patch })
    }
    for (const row of steps ?? []) this.steps.set(`${row.run_id}\u0000${row.step_id}`, row)
    if (logs) this.logs.push(...logs)
  }

  private pending(): boolean {
    return (
      this.newRuns.size + this.runs.size + this.steps.size + this.logs.length > 0 || this.waiters.length > 0
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
      newRuns: [...this.newRuns.values()],
      runs: [...this.runs.values()],
      steps: [...this.steps.values()],
      logs: this.logs,
    }
    const waiters = this.waiters
    this.newRuns = new Map()
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
 * updates runs and inserts log lines. Resolves once the batch is committed.
 */
export interface CheckpointExecutor {
  commit(batch: Batch): Promise<void>
}

/** The executor for a database: synchronous prepared statements on SQLite, array statements on PostgreSQL. */
export function checkpointExecutor(db: Pick<Database, 'knex' | 'sqlite'>): CheckpointExecutor {
  return db.sqlite ? new SqliteExecutor(db.sqlite) : new PostgresExecutor(db.knex)
}

const RUN_COLUMNS = [
  'id',
  'workflow_id',
  'workflow_version',
  'status',
  'input',
  'output',
  'error',
  'created_at',
  'started_at',
  'finished_at',
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

/** Prepared statements kept at most (one per set of columns a run update sets). */
const MAX_STATEMENTS = 256

/**
 * SQLite through the synchronous binding: a batch is one transaction of prepared statements run
 * on the main thread, without knex's query building, pool and promise per statement. A row costs a
 * few microseconds, so every row goes through a fixed statement of its own kind: inserts, upserts,
 * and a run update per set of columns it sets (a bulk `CASE` update would be prepared anew for
 * every batch size).
 */
export class SqliteExecutor implements CheckpointExecutor {
  private readonly statements = new Map<string, ReturnType<SqliteConnection['prepare']>>()
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
      for (const patch of batch.runs) {
        const columns = patchColumns(patch)
        if (columns.length === 0) continue
        const update = this.statement(
          `update runs set ${columns.map((c) => `${c} = ?`).join(', ')} where id = ?`,
        )
        update.run([...columns.map((c) => binding(patch[c])), patch.id])
      }
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

  private statement(sql: string): ReturnType<SqliteConnection['prepare']> {
    let statement = this.statements.get(sql)
    if (!statement) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.delete(this.statements.keys().next().value!)
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }
}

/** A column and its PostgreSQL type, for statements over arrays (`unnest`). */
type Typed<K extends string> = readonly (readonly [K, string])[]

const PG_RUN_COLUMNS: Typed<keyof NewRunRow> = [
  ['id', 'text'],
  ['workflow_id', 'text'],
  ['workflow_version', 'int'],
  ['status', 'text'],
  ['input', 'text'],
  ['output', 'text'],
  ['error', 'text'],
  ['created_at', 'bigint'],
  ['started_at', 'bigint'],
  ['finished_at', 'bigint'],
  ['owner', 'text'],
  ['lease_until', 'bigint'],
]
const PG_STEP_COLUMNS: Typed<keyof StepRow> = [
  ['run_id', 'text'],
  ['step_id', 'text'],
  ['status', 'text'],
  ['attempts', 'int'],
  ['handle', 'text'],
  ['output', 'text'],
  ['error', 'text'],
  ['wake_at', 'bigint'],
  ['started_at', 'bigint'],
  ['finished_at', 'bigint'],
]
const PG_LOG_COLUMNS: Typed<keyof LogRow> = [
  ['run_id', 'text'],
  ['step_id', 'text'],
  ['ts', 'bigint'],
  ['level', 'text'],
  ['msg', 'text'],
  ['data', 'text'],
]
const PG_PATCH_TYPES: Record<keyof RunPatch, string> = {
  id: 'text',
  status: 'text',
  output: 'text',
  error: 'text',
  started_at: 'bigint',
  finished_at: 'bigint',
  owner: 'text',
  lease_until: 'bigint',
}

/** `select * from unnest($1::text[], $2::int[], …) as u(a, b, …)`, its parameters numbered from `from`. */
function unnest(columns: Typed<string>, from: number): string {
  const arrays = columns.map(([, type], i) => `$${from + i + 1}::${type}[]`).join(', ')
  return `select * from unnest(${arrays}) as u(${columns.map(([name]) => name).join(', ')})`
}

/** One array of values per column, as `unnest` takes them. */
function columnArrays<R>(rows: R[], columns: Typed<keyof R & string>): unknown[][] {
  return columns.map(([name]) => rows.map((row) => binding(row[name])))
}

const names = (columns: Typed<string>) => columns.map(([c]) => c).join(', ')
const PG_INSERT_RUNS = (from: number) =>
  `insert into runs (${names(PG_RUN_COLUMNS)}) ${unnest(PG_RUN_COLUMNS, from)}`
const PG_UPSERT_STEPS = (from: number) =>
  `insert into step_states (${names(PG_STEP_COLUMNS)}) ${unnest(PG_STEP_COLUMNS, from)}` +
  ` on conflict (run_id, step_id) do update set ${PG_STEP_COLUMNS.filter(
    ([c]) => c !== 'run_id' && c !== 'step_id',
  )
    .map(([c]) => `${c} = excluded.${c}`)
    .join(', ')}`
const PG_INSERT_LOGS = (from: number) =>
  `insert into run_logs (${names(PG_LOG_COLUMNS)}) ${unnest(PG_LOG_COLUMNS, from)}`
const PG_UPDATE_RUNS = (columns: Typed<keyof RunPatch>, from: number) =>
  `update runs as r set ${columns
    .slice(1)
    .map(([c]) => `${c} = u.${c}`)
    .join(', ')} from (${unnest(columns, from)}) as u where r.id = u.id`

/**
 * PostgreSQL through the `pg` client under knex. A batch is one statement, so one round trip and
 * atomic without BEGIN and COMMIT: each kind of row is one part of it (the new runs, the step
 * upserts, one run update per set of columns, the log lines), joined as data-modifying `WITH`
 * parts. Each part takes its rows as one array per column (`unnest`), so the statement's text
 * depends only on which parts it has, and is prepared once per connection. The parts never touch
 * one row twice: the writer folds a patch of a run it has not inserted yet into the insert, and
 * keeps one row per step and one patch per run.
 */
export class PostgresExecutor implements CheckpointExecutor {
  constructor(private readonly knex: Knex) {}

  async commit(batch: Batch): Promise<void> {
    const parts: string[] = []
    const values: unknown[] = []
    const part = (text: (from: number) => string, arrays: unknown[][]) => {
      parts.push(text(values.length))
      values.push(...arrays)
    }
    if (batch.newRuns.length > 0) part(PG_INSERT_RUNS, columnArrays(batch.newRuns, PG_RUN_COLUMNS))
    if (batch.steps.length > 0) part(PG_UPSERT_STEPS, columnArrays(batch.steps, PG_STEP_COLUMNS))
    const groups = new Map<string, RunPatch[]>()
    for (const patch of batch.runs) {
      const key = patchColumns(patch).join(',')
      if (!key) continue
      const group = groups.get(key)
      if (group) group.push(patch)
      else groups.set(key, [patch])
    }
    for (const [key, patches] of groups) {
      const columns: Typed<keyof RunPatch> = ['id', ...key.split(',')].map(
        (c) => [c as keyof RunPatch, PG_PATCH_TYPES[c as keyof RunPatch]] as const,
      )
      part((from) => PG_UPDATE_RUNS(columns, from), columnArrays(patches, columns))
    }
    if (batch.logs.length > 0) part(PG_INSERT_LOGS, columnArrays(batch.logs, PG_LOG_COLUMNS))
    if (parts.length === 0) return
    const last = parts.pop()!
    const text =
      parts.length === 0 ? last : `with ${parts.map((p, i) => `p${i} as (${p})`).join(', ')} ${last}`
    await pgQuery(this.knex, text, values)
  }
}

/** A value as knex hands it to the binding: no undefined, booleans as numbers, dates as epoch ms. */
function binding(value: unknown): unknown {
  if (value === undefined) return null
  if (typeof value === 'boolean') return Number(value)
  if (value instanceof Date) return value.valueOf()
  return value
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** The columns a patch sets, in a fixed order. */
function patchColumns(patch: RunPatch): Exclude<keyof RunPatch, 'id'>[] {
  return (Object.keys(patch) as (keyof RunPatch)[])
    .filter((k): k is Exclude<keyof RunPatch, 'id'> => k !== 'id' && patch[k] !== undefined)
    .sort()
}
