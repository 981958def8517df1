// The checkpoint writer: every change to runs, steps and run logs goes through here. Writes that
// arrive while a transaction is in flight are grouped into the next one (group commit), and each
// caller is answered only once its rows are durable.
import type { Knex } from '@mikro-orm/knex'

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

  constructor(private readonly knex: Knex) {}

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
    const batch = {
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
        const statements: ((db: Knex) => Promise<unknown>)[] = [
          ...[...chunks(batch.newRuns)].map((chunk) => (db: Knex) => db('runs').insert(chunk)),
          ...[...chunks(batch.steps)].map(
            (chunk) => (db: Knex) =>
              db('step_states').insert(chunk).onConflict(['run_id', 'step_id']).merge(),
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
        this.stats.commits++
        this.stats.rows += rows
      }
      for (const waiter of waiters) waiter.resolve()
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error)
    }
  }
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
