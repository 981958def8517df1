// The checkpoint writer: every change to runs, steps and run logs goes through here. Writes that
// arrive while a transaction is in flight are grouped into the next one (group commit), and each
// caller is answered only once its rows are durable. A write may be fenced: it is made only while
// this process still holds its run with the lease epoch it was given, so that a process that lost
// a run can never write over its successor. On SQLite a batch is written synchronously with
// prepared statements on knex's own connection; on PostgreSQL through knex.
import type { Knex } from '@mikro-orm/knex'
import { EngineError } from '../errors.js'
import { isTransientFault } from './faults.js'
import { type Database, pgQuery, type SqliteConnection } from './orm.js'
import type { WalCheckpoints } from './wal-checkpoints.js'

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
  parent_run_id?: string | null
  parent_step_id?: string | null
  parent_waits?: number
  depth?: number
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
  interruptions: number
  handle: string | null
  output: string | null
  error: string | null
  wake_at: number | null
  started_at: number | null
  finished_at: number | null
  // v2 (loops, children, signals): optional, null when not given
  wait_signal?: string | null
  wait_key?: string | null
  wait_until?: number | null
  child_run_id?: string | null
  items_total?: number | null
}

/** An item of a `forEach` step that has ended. */
export interface ItemRow {
  run_id: string
  step_id: string
  idx: number
  status: string
  attempts: number
  output: string | null
  error: string | null
  child_run_id: string | null
  started_at: number | null
  finished_at: number | null
}

/** A signal a step took: marked taken in the checkpoint of what the step did with it. */
export interface SignalTake {
  id: number
  run_id: string
  taken_by: string
  taken_at: number
}

/** A signal one run sends another (a child's end to the parent waiting for it). */
export interface SignalRow {
  run_id: string
  name: string
  data: string | null
  created_at: number
  sender_run_id: string
  /**
   * Taken already, by this step of the receiving run, which took it in memory: stored taken only
   * if the receiver's rows are written in the same commit (its fence holds), else untaken.
   */
  taken_by?: string | null
  taken_at?: number | null
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
  /**
   * Runs this checkpoint inserts. Any but the fenced run itself (a child run, a failure handler's
   * run) is held by the checkpoint's fence: inserted only if the fenced run's rows are written.
   */
  newRuns?: NewRunRow[]
  runs?: RunPatch[]
  steps?: StepRow[]
  logs?: LogRow[]
  items?: ItemRow[]
  takes?: SignalTake[]
  /** Written with the fence of their sender's run. */
  signals?: SignalRow[]
  /**
   * The run this checkpoint belongs to and the lease epoch this process holds it with: nothing of
   * the run is written unless the process still holds it with that epoch (LeaseLostError).
   */
  fence?: Fence
}

export interface Fence {
  runId: string
  epoch: number
}

/** A write refused by its fence: another process took the run over. */
export class LeaseLostError extends EngineError {
  constructor(readonly runId: string) {
    super('LEASE_LOST', `run ${runId} is no longer held by this process`, { level: 'warning' })
  }
}

interface Waiter {
  checkpoint: Checkpoint
  resolve: () => void
  reject: (error: unknown) => void
}

/** While the database is away, a batch is tried again after these pauses (the last one repeats). */
const RETRY_MS = [50, 100, 250, 500, 1_000, 2_000, 5_000]

export class CheckpointWriter {
  private newRuns = new Map<string, NewRunRow>()
  private runs = new Map<string, RunPatch>()
  private steps = new Map<string, StepRow>()
  private logs: LogRow[] = []
  private items = new Map<string, ItemRow>()
  private takes: SignalTake[] = []
  private signals: SignalRow[] = []
  private fences = new Map<string, number>()
  private heldBy = new Map<string, string>()
  private waiters: Waiter[] = []
  private flushing: Promise<void> | undefined
  private scheduled = false
  private closed = false
  /** Transactions committed and rows written, for metrics and benchmarks. */
  readonly stats = { commits: 0, rows: 0 }
  /** The last commit failed for a fault of the database (it is away, or its disk is full). */
  faulted: unknown = undefined

  constructor(private readonly executor: CheckpointExecutor) {}

  /** Resolves when every row of this checkpoint is durable. */
  write(checkpoint: Checkpoint): Promise<void> {
    if (!this.admit(checkpoint)) return Promise.reject(new LeaseLostError(checkpoint.fence!.runId))
    this.add(checkpoint)
    return new Promise((resolve, reject) => {
      this.waiters.push({ checkpoint, resolve, reject })
      this.schedule()
    })
  }

  /** Whether the database took the last batch: false while it is away and batches wait. */
  get healthy(): boolean {
    return this.faulted === undefined
  }

  /** Stops retrying: whatever still waits is rejected (the engine is closing). */
  close(): void {
    this.closed = true
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

  /**
   * Rows of a run written under another lease epoch than the rows already waiting for it never
   * share a commit (one fence per run and batch). The higher epoch wins: rows under a lower one
   * would be refused by their fence anyway (the run was taken since), so they are dropped now and
   * their callers told, rather than written under the new epoch (a release of the old holder would
   * otherwise let go of the new holder's lease).
   */
  private admit(checkpoint: Checkpoint): boolean {
    const fence = checkpoint.fence
    const pending = fence && this.fences.get(fence.runId)
    if (!fence || pending === undefined || pending === fence.epoch) return true
    if (fence.epoch < pending) return false
    const id = fence.runId
    this.runs.delete(id)
    // the runs its rows would have inserted go with them
    for (const [runId, by] of this.heldBy)
      if (by === id) {
        this.newRuns.delete(runId)
        this.heldBy.delete(runId)
      }
    for (const [key, row] of this.steps) if (row.run_id === id) this.steps.delete(key)
    for (const [key, row] of this.items) if (row.run_id === id) this.items.delete(key)
    this.logs = this.logs.filter((row) => row.run_id !== id)
    this.takes = this.takes.filter((row) => row.run_id !== id)
    this.signals = this.signals.filter((row) => row.sender_run_id !== id)
    const stale = this.waiters.filter((w) => w.checkpoint.fence?.runId === id)
    this.waiters = this.waiters.filter((w) => w.checkpoint.fence?.runId !== id)
    for (const waiter of stale) waiter.reject(new LeaseLostError(id))
    return true
  }

  private add({ newRuns, runs, steps, logs, items, takes, signals, fence }: Checkpoint): void {
    if (fence) this.fences.set(fence.runId, fence.epoch)
    for (const row of newRuns ?? []) this.newRuns.set(row.id, { ...row })
    holdNewRuns({ newRuns, fence }, this.heldBy)
    for (const patch of runs ?? []) {
      // a run not inserted yet is inserted as patched: one row, and no update of a row not yet there
      const inserting = this.newRuns.get(patch.id)
      if (inserting) Object.assign(inserting, withoutUndefined(patch))
      else this.runs.set(patch.id, { ...this.runs.get(patch.id), ...patch })
    }
    for (const row of steps ?? []) this.steps.set(`${row.run_id}\u0000${row.step_id}`, row)
    if (logs) this.logs.push(...logs)
    for (const row of items ?? []) this.items.set(`${row.run_id}\u0000${row.step_id}\u0000${row.idx}`, row)
    if (takes) this.takes.push(...takes)
    if (signals) this.signals.push(...signals)
  }

  private pending(): boolean {
    const rows = this.newRuns.size + this.runs.size + this.steps.size + this.logs.length
    return rows + this.items.size + this.takes.length + this.signals.length > 0 || this.waiters.length > 0
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
      items: [...this.items.values()],
      takes: this.takes,
      signals: this.signals,
      fences: this.fences,
      heldBy: this.heldBy,
    }
    const waiters = this.waiters
    this.newRuns = new Map()
    this.runs = new Map()
    this.steps = new Map()
    this.logs = []
    this.items = new Map()
    this.takes = []
    this.signals = []
    this.fences = new Map()
    this.heldBy = new Map()
    this.waiters = []
    try {
      const refused = await this.commitRetrying(batch)
      answer(waiters, refused)
    } catch (error) {
      // a batch the database refuses for its rows: each caller's rows alone, so that one bad row
      // fails only its own run
      if (waiters.length <= 1) for (const waiter of waiters) waiter.reject(error)
      else await this.onePerCaller(waiters, batch.logs)
    }
  }

  /** Commits a batch; while the database is away (a transient fault), tries again and again. */
  private async commitRetrying(batch: Batch): Promise<Set<string>> {
    const rows =
      batch.newRuns.length +
      batch.runs.length +
      batch.steps.length +
      batch.logs.length +
      batch.items.length +
      batch.takes.length +
      batch.signals.length
    if (rows === 0) return new Set()
    for (let attempt = 0; ; attempt++) {
      try {
        const refused = await this.executor.commit(batch)
        this.faulted = undefined
        this.stats.commits++
        this.stats.rows += rows
        return refused
      } catch (error) {
        if (!isTransientFault(error) || this.closed) throw error
        this.faulted = error
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]))
      }
    }
  }

  private async onePerCaller(waiters: Waiter[], logs: LogRow[]): Promise<void> {
    for (const waiter of waiters) {
      const { checkpoint } = waiter
      const { fence } = checkpoint
      const fences = new Map(fence ? [[fence.runId, fence.epoch]] : [])
      const heldBy = holdNewRuns(checkpoint, new Map())
      try {
        const refused = await this.commitRetrying(batchOf({ ...checkpoint, fences, heldBy }))
        answer([waiter], refused)
      } catch (error) {
        waiter.reject(error)
      }
    }
    // the log lines of the batch, on their own; lost if even they are refused
    await this.commitRetrying(batchOf({ logs })).catch(() => {})
  }
}

/**
 * Records in `heldBy` that the runs a fenced checkpoint inserts, other than its own run, are held
 * by its fence (see `Checkpoint.newRuns`); returns `heldBy`.
 */
function holdNewRuns(
  { newRuns, fence }: Pick<Checkpoint, 'newRuns' | 'fence'>,
  heldBy: Map<string, string>,
): Map<string, string> {
  if (fence) for (const row of newRuns ?? []) if (row.id !== fence.runId) heldBy.set(row.id, fence.runId)
  return heldBy
}

function answer(waiters: Waiter[], refused: Set<string>): void {
  for (const waiter of waiters) {
    const runId = waiter.checkpoint.fence?.runId
    if (runId !== undefined && refused.has(runId)) waiter.reject(new LeaseLostError(runId))
    else waiter.resolve()
  }
}

/** The rows of one group commit. */
export interface Batch {
  newRuns: NewRunRow[]
  runs: RunPatch[]
  steps: StepRow[]
  logs: LogRow[]
  items: ItemRow[]
  takes: SignalTake[]
  signals: SignalRow[]
  /** Per fenced run, the lease epoch its rows are written with. */
  fences: Map<string, number>
  /** New runs inserted only if another run's fence holds: by their id, that run's. */
  heldBy: Map<string, string>
}

/** A batch of the given parts, every other part empty. */
export function batchOf(parts: Partial<Batch>): Batch {
  return {
    newRuns: parts.newRuns ?? [],
    runs: parts.runs ?? [],
    steps: parts.steps ?? [],
    logs: parts.logs ?? [],
    items: parts.items ?? [],
    takes: parts.takes ?? [],
    signals: parts.signals ?? [],
    fences: parts.fences ?? new Map(),
    heldBy: parts.heldBy ?? new Map(),
  }
}

/**
 * Writes a batch in one transaction: inserts new runs, upserts step states on (run_id, step_id),
 * updates runs and inserts log lines. Rows of a fenced run are written only if `owner` still holds
 * the run with the batch's epoch for it. Resolves, once the batch is committed, with the fenced runs
 * whose rows were refused.
 */
export interface CheckpointExecutor {
  commit(batch: Batch): Promise<Set<string>>
}

/** The executor for a database: synchronous prepared statements on SQLite, array statements on PostgreSQL. */
export function checkpointExecutor(
  db: Pick<Database, 'knex' | 'sqlite' | 'walCheckpoints'>,
  owner: string,
): CheckpointExecutor {
  return db.sqlite
    ? new SqliteExecutor(db.sqlite, owner, db.walCheckpoints)
    : new PostgresExecutor(db.knex, owner)
}

/**
 * The fenced runs of a batch, each with its lease epoch and the run whose row holds the fence (its
 * own, but for a new run held by another run's fence). A run the batch inserts is held by its
 * writer, unless it is held by the fence of a run the batch does not insert: then it is fenced by
 * that run's fence (through any line of new runs between them).
 */
function fencedRuns(batch: Batch): Map<string, { epoch: number; via: string }> {
  const fenced = new Map<string, { epoch: number; via: string }>()
  if (batch.fences.size === 0) return fenced
  const inserted = new Set(batch.newRuns.map((row) => row.id))
  for (const [id, epoch] of batch.fences) if (!inserted.has(id)) fenced.set(id, { epoch, via: id })
  for (const id of batch.heldBy.keys()) {
    let via = id
    // up the line of runs inserted here, to one that is not (a cycle cannot be, but ends the walk)
    for (let hops = 0; inserted.has(via) && batch.heldBy.has(via) && hops <= batch.heldBy.size; hops++)
      via = batch.heldBy.get(via)!
    const epoch = inserted.has(via) ? undefined : batch.fences.get(via)
    if (epoch !== undefined) fenced.set(id, { epoch, via })
  }
  return fenced
}

/** A column and its PostgreSQL type (for statements over arrays, `unnest`). */
type Typed<K extends string> = readonly (readonly [K, string])[]

// One table of columns per kind of row: both executors' statements are made from it.

const RUN_TABLE: Typed<keyof NewRunRow> = [
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
  ['parent_run_id', 'text'],
  ['parent_step_id', 'text'],
  ['parent_waits', 'int'],
  ['depth', 'int'],
]
const STEP_TABLE: Typed<keyof StepRow> = [
  ['run_id', 'text'],
  ['step_id', 'text'],
  ['status', 'text'],
  ['attempts', 'int'],
  ['interruptions', 'int'],
  ['handle', 'text'],
  ['output', 'text'],
  ['error', 'text'],
  ['wake_at', 'bigint'],
  ['started_at', 'bigint'],
  ['finished_at', 'bigint'],
  ['wait_signal', 'text'],
  ['wait_key', 'text'],
  ['wait_until', 'bigint'],
  ['child_run_id', 'text'],
  ['items_total', 'int'],
]
const ITEM_TABLE: Typed<keyof ItemRow> = [
  ['run_id', 'text'],
  ['step_id', 'text'],
  ['idx', 'int'],
  ['status', 'text'],
  ['attempts', 'int'],
  ['output', 'text'],
  ['error', 'text'],
  ['child_run_id', 'text'],
  ['started_at', 'bigint'],
  ['finished_at', 'bigint'],
]
const TAKE_TABLE: Typed<keyof SignalTake> = [
  ['id', 'int'],
  ['run_id', 'text'],
  ['taken_by', 'text'],
  ['taken_at', 'bigint'],
]
const SIGNAL_TABLE: Typed<keyof SignalRow> = [
  ['run_id', 'text'],
  ['name', 'text'],
  ['data', 'text'],
  ['created_at', 'bigint'],
  ['sender_run_id', 'text'],
]
const LOG_TABLE: Typed<keyof LogRow> = [
  ['run_id', 'text'],
  ['step_id', 'text'],
  ['ts', 'bigint'],
  ['level', 'text'],
  ['msg', 'text'],
  ['data', 'text'],
]
const columnNames = <K extends string>(columns: Typed<K>): K[] => columns.map(([c]) => c)
const names = (columns: Typed<string>) => columnNames(columns).join(', ')
const RUN_COLUMNS = columnNames(RUN_TABLE)
const STEP_COLUMNS = columnNames(STEP_TABLE)
const LOG_COLUMNS = columnNames(LOG_TABLE)
const ITEM_COLUMNS = columnNames(ITEM_TABLE)
const SIGNAL_COLUMNS = columnNames(SIGNAL_TABLE)

/** `insert into T (cols) values (?, …)`, and with `key`, an upsert of every other column on it. */
function insertSql(table: string, columns: string[], key?: string[]): string {
  const insert = `insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`
  if (!key) return insert
  const set = columns.filter((c) => !key.includes(c)).map((c) => `${c} = excluded.${c}`)
  return `${insert} on conflict (${key.join(', ')}) do update set ${set.join(', ')}`
}
const UPSERT_ITEM = insertSql('step_items', ITEM_COLUMNS, ['run_id', 'step_id', 'idx'])
const INSERT_SIGNAL = insertSql('signals', [...SIGNAL_COLUMNS, 'taken_by', 'taken_at'])
const TAKE_SIGNAL = 'update signals set taken_by = ?, taken_at = ? where id = ? and run_id = ?'

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
  private readonly write: (batch: Batch) => Set<string>

  constructor(
    private readonly db: SqliteConnection,
    private readonly owner: string,
    /** Told of the rows written, to move WAL checkpoints off this thread once they are many. */
    private readonly wal?: Pick<WalCheckpoints, 'wrote'>,
  ) {
    this.write = db.transaction((whole: Batch) => {
      const refused = this.refused(fencedRuns(whole))
      const batch = refused.size === 0 ? whole : without(whole, refused)
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
      if (batch.items.length > 0) {
        const upsert = this.statement(UPSERT_ITEM)
        for (const row of batch.items) upsert.run(ITEM_COLUMNS.map((c) => binding(row[c])))
      }
      if (batch.takes.length > 0) {
        const update = this.statement(TAKE_SIGNAL)
        for (const take of batch.takes) update.run([take.taken_by, take.taken_at, take.id, take.run_id])
      }
      if (batch.signals.length > 0) {
        const insert = this.statement(INSERT_SIGNAL)
        const takes = takenOnInsert(batch)
        for (const row of batch.signals) {
          const taken = takes.has(row) && !refused.has(row.run_id)
          insert.run([
            ...SIGNAL_COLUMNS.map((c) => binding(row[c])),
            ...(taken ? [row.taken_by, row.taken_at] : [null, null]),
          ])
        }
      }
      return refused
    })
  }

  async commit(batch: Batch): Promise<Set<string>> {
    // knex may hold a transaction of its own open on this same connection across awaits (a claim,
    // `em.transactional`, a migration): never write into it, wait until it has ended
    while (this.db.inTransaction) await new Promise((resolve) => setImmediate(resolve))
    // synchronous: once it returns, the transaction is committed
    const refused = this.write(batch)
    this.wal?.wrote(batch.newRuns.length + batch.steps.length + batch.runs.length + batch.logs.length)
    return refused
  }

  /** Fenced runs that this process does not hold with their epoch, read inside the transaction. */
  private refused(fenced: Map<string, { epoch: number; via: string }>): Set<string> {
    const refused = new Set<string>()
    if (fenced.size === 0) return refused
    const read = this.statement('select owner, lease_epoch from runs where id = ?')
    for (const [id, { epoch, via }] of fenced) {
      const [row] = read.all([via]) as { owner: string | null; lease_epoch: number }[]
      // a run without its row (its insert failed, or it was pruned) is held by nobody either
      if (!row || row.owner !== this.owner || Number(row.lease_epoch) !== epoch) refused.add(id)
    }
    return refused
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

const PG_INSERT_RUNS = (from: number, keep = '') =>
  `insert into runs (${names(RUN_TABLE)}) ${unnest(RUN_TABLE, from)}${keep}`
const PG_UPSERT_STEPS = (from: number, keep = '') =>
  `insert into step_states (${names(STEP_TABLE)}) ${unnest(STEP_TABLE, from)}${keep}` +
  ` on conflict (run_id, step_id) do update set ${STEP_TABLE.filter(
    ([c]) => c !== 'run_id' && c !== 'step_id',
  )
    .map(([c]) => `${c} = excluded.${c}`)
    .join(', ')}`
const PG_INSERT_LOGS = (from: number, keep = '') =>
  `insert into run_logs (${names(LOG_TABLE)}) ${unnest(LOG_TABLE, from)}${keep}`
const PG_UPSERT_ITEMS = (from: number, keep = '') =>
  `insert into step_items (${names(ITEM_TABLE)}) ${unnest(ITEM_TABLE, from)}${keep}` +
  ` on conflict (run_id, step_id, idx) do update set ${ITEM_TABLE.filter(
    ([c]) => c !== 'run_id' && c !== 'step_id' && c !== 'idx',
  )
    .map(([c]) => `${c} = excluded.${c}`)
    .join(', ')}`
const PG_TAKE_SIGNALS = (from: number, keep = '') =>
  `update signals as s set taken_by = u.taken_by, taken_at = u.taken_at from (${unnest(TAKE_TABLE, from)}) as u` +
  ` where s.id = u.id and s.run_id = u.run_id${keep.replace(' where', ' and')}`
/**
 * Signals, each stored taken by the step that took it in memory only if its receiver's rows are
 * written in this statement: a receiver inserted here, or fenced here (`fenced`) and held (p0).
 */
const PG_INSERT_SIGNALS = (from: number, keep = '', fencing = false) => {
  const held = `u.taken_by is not null and (u.fenced = 0${fencing ? ' or u.run_id in (select id from p0)' : ''})`
  return (
    `insert into signals (${names(SIGNAL_TABLE)}, taken_by, taken_at)` +
    ` select ${SIGNAL_COLUMNS.map((c) => `u.${c}`).join(', ')},` +
    ` case when ${held} then u.taken_by end, case when ${held} then u.taken_at end` +
    ` from (${unnest(PG_SIGNAL_TABLE, from)}) as u${keep}`
  )
}
const PG_SIGNAL_TABLE: Typed<string> = [
  ...SIGNAL_TABLE,
  ['taken_by', 'text'],
  ['taken_at', 'bigint'],
  ['fenced', 'int'],
]
const PG_UPDATE_RUNS = (columns: Typed<keyof RunPatch>, from: number, keep = '') =>
  `update runs as r set ${columns
    .slice(1)
    .map(([c]) => `${c} = u.${c}`)
    .join(', ')} from (${unnest(columns, from)}) as u where r.id = u.id${keep.replace(' where', ' and')}`

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
  constructor(
    private readonly knex: Knex,
    private readonly owner: string,
  ) {}

  async commit(batch: Batch): Promise<Set<string>> {
    const parts: string[] = []
    const values: unknown[] = []
    const part = (text: (from: number) => string, arrays: unknown[]) => {
      parts.push(text(values.length))
      values.push(...arrays)
    }
    // the fence comes first: $1 holds the fenced runs, which every other part filters its rows by
    const fenced = fencedRuns(batch)
    const fencing = fenced.size > 0
    if (fencing) {
      const held = [...fenced.values()]
      part(PG_FENCE, [[...fenced.keys()], held.map((f) => f.epoch), this.owner, held.map((f) => f.via)])
    }
    const keep = (column: string) => (fencing ? PG_KEEP(column) : '')
    if (batch.newRuns.length > 0)
      part((from) => PG_INSERT_RUNS(from, keep('u.id')), columnArrays(batch.newRuns, RUN_TABLE))
    if (batch.steps.length > 0)
      part((from) => PG_UPSERT_STEPS(from, keep('u.run_id')), columnArrays(batch.steps, STEP_TABLE))
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
      part((from) => PG_UPDATE_RUNS(columns, from, keep('u.id')), columnArrays(patches, columns))
    }
    if (batch.logs.length > 0)
      part((from) => PG_INSERT_LOGS(from, keep('u.run_id')), columnArrays(batch.logs, LOG_TABLE))
    if (batch.items.length > 0)
      part((from) => PG_UPSERT_ITEMS(from, keep('u.run_id')), columnArrays(batch.items, ITEM_TABLE))
    if (batch.takes.length > 0)
      part((from) => PG_TAKE_SIGNALS(from, keep('u.run_id')), columnArrays(batch.takes, TAKE_TABLE))
    if (batch.signals.length > 0)
      part((from) => PG_INSERT_SIGNALS(from, keep('u.sender_run_id'), fencing), pgSignalArrays(batch, fenced))
    if (parts.length === 0) return new Set()
    // with a fence, the statement answers the fenced runs it held: the others were refused
    const last = fencing ? 'select id from p0' : parts.pop()!
    const text =
      parts.length === 0 ? last : `with ${parts.map((p, i) => `p${i} as (${p})`).join(', ')} ${last}`
    const result = await pgQuery(this.knex, text, values)
    if (!fencing) return new Set()
    const held = new Set((result as { id: string }[]).map((r) => r.id))
    return new Set([...fenced.keys()].filter((id) => !held.has(id)))
  }
}

/**
 * The fenced runs still held by their writer with their epoch (the row of the run that holds the
 * fence, `via`, locked until the statement ends).
 */
const PG_FENCE = (from: number) =>
  `select f.id from runs r join unnest($${from + 1}::text[], $${from + 2}::int[], $${from + 4}::text[]) as f(id, epoch, via)` +
  ` on r.id = f.via where r.owner = $${from + 3} and r.lease_epoch = f.epoch for update of r`
/** A row is written when its run is not fenced ($1), or when the fence (p0) held. */
const PG_KEEP = (column: string) =>
  ` where (${column} <> all($1::text[]) or ${column} in (select id from p0))`

/** A value as knex hands it to the binding: no undefined, booleans as numbers, dates as epoch ms. */
function binding(value: unknown): unknown {
  if (value === undefined) return null
  if (typeof value === 'boolean') return Number(value)
  if (value instanceof Date) return value.valueOf()
  return value
}

/**
 * The signals of a batch that go in taken: those a receiver took in memory, whose receiver's rows
 * are in the batch (inserted by it, or fenced in it). Any other goes in untaken, to be delivered.
 */
function takenOnInsert(batch: Batch): Set<SignalRow> {
  const taken = new Set<SignalRow>()
  if (!batch.signals.some((row) => row.taken_by)) return taken
  const inserted = new Set(batch.newRuns.map((row) => row.id))
  for (const row of batch.signals)
    if (row.taken_by && (inserted.has(row.run_id) || batch.fences.has(row.run_id))) taken.add(row)
  return taken
}

/** The signals' columns for PostgreSQL, with whether each taken one waits for its receiver's fence. */
function pgSignalArrays(batch: Batch, fenced: Map<string, unknown>): unknown[][] {
  const takes = takenOnInsert(batch)
  const rows = batch.signals.map((row) => {
    const taken = takes.has(row)
    return {
      ...row,
      taken_by: taken ? row.taken_by : null,
      taken_at: taken ? row.taken_at : null,
      fenced: taken && fenced.has(row.run_id),
    }
  })
  return columnArrays(rows, PG_SIGNAL_TABLE as Typed<keyof (typeof rows)[number] & string>)
}

/** The batch without the rows of the given runs. */
function without(batch: Batch, runs: Set<string>): Batch {
  return {
    ...batch,
    newRuns: batch.newRuns.filter((r) => !runs.has(r.id)),
    runs: batch.runs.filter((r) => !runs.has(r.id)),
    steps: batch.steps.filter((r) => !runs.has(r.run_id)),
    logs: batch.logs.filter((r) => !runs.has(r.run_id)),
    items: batch.items.filter((r) => !runs.has(r.run_id)),
    takes: batch.takes.filter((r) => !runs.has(r.run_id)),
    signals: batch.signals.filter((r) => !runs.has(r.sender_run_id)),
  }
}

/** The keys of an object that have a value: undefined neither writes a column nor overrides a default. */
export function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** The columns a patch sets, in a fixed order. */
function patchColumns(patch: RunPatch): Exclude<keyof RunPatch, 'id'>[] {
  return (Object.keys(patch) as (keyof RunPatch)[])
    .filter((k): k is Exclude<keyof RunPatch, 'id'> => k !== 'id' && patch[k] !== undefined)
    .sort()
}
