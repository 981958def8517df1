// Pruning ended runs (runs.retention) on a real database: by age, by count per workflow, per status;
// unfinished runs and runs someone holds are never touched; batches are bounded; two pruners at once
// delete each run once; a schedule's fire of a pruned run is not taken for one to repair.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type PrunerOptions, RunPruner } from '../../src/runtime/run-pruner.js'
import { type Database, openDatabase } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

const NOW = Date.now()
const DAY = 86_400_000
const STEPS = 3

interface Seed {
  workflow?: string
  status?: string
  /** Days before NOW the run ended (and started); null for a run that has not ended. */
  endedDaysAgo?: number | null
  owner?: string | null
  leaseUntil?: number | null
}

let db: Database
let url: string
let seq = 0

/** A run with STEPS step rows and two log lines; its id. */
async function seed({
  workflow = 'a',
  status = 'succeeded',
  endedDaysAgo = 10,
  owner = null,
  leaseUntil = null,
}: Seed = {}): Promise<string> {
  const id = `run-${String(++seq).padStart(5, '0')}`
  const at = endedDaysAgo === null ? NOW - DAY : NOW - endedDaysAgo * DAY
  await db.knex('runs').insert({
    id,
    workflow_id: workflow,
    workflow_version: 1,
    status,
    input: '{}',
    created_at: at - 1_000,
    started_at: at - 1_000,
    finished_at: endedDaysAgo === null ? null : at,
    owner,
    lease_until: leaseUntil,
  })
  await db.knex('step_states').insert(
    Array.from({ length: STEPS }, (_, i) => ({
      run_id: id,
      step_id: `s${i}`,
      status: 'succeeded',
      attempts: 1,
      started_at: at - 1_000,
      finished_at: at,
    })),
  )
  await db
    .knex('run_logs')
    .insert(['one', 'two'].map((msg) => ({ run_id: id, step_id: 's0', ts: at, level: 'info', msg })))
  return id
}

async function many(n: number, seedOf: (i: number) => Seed): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push(await seed(seedOf(i)))
  return ids
}

const pruner = (options: Partial<PrunerOptions> & Pick<PrunerOptions, 'rules'>, on = db) =>
  new RunPruner(on, { intervalMs: 60_000, batchSize: 500, pauseMs: 0, now: () => NOW, ...options })

const runIds = async () =>
  ((await db.knex('runs').select('id').orderBy('id')) as { id: string }[]).map((r) => r.id)

/** Which of these runs are still there, with all their step rows and log lines (or none of them). */
async function kept(ids: string[]): Promise<string[]> {
  const runs = new Set(await runIds())
  const steps = await db.knex('step_states').whereIn('run_id', ids).select('run_id')
  const logs = await db.knex('run_logs').whereIn('run_id', ids).select('run_id')
  for (const id of ids) {
    const expected = runs.has(id) ? 1 : 0
    expect(steps.filter((r) => r.run_id === id).length, `step rows of ${id}`).toBe(expected * STEPS)
    expect(logs.filter((r) => r.run_id === id).length, `log lines of ${id}`).toBe(expected * 2)
  }
  return ids.filter((id) => runs.has(id))
}

beforeAll(async () => {
  url = await freshDatabaseUrl()
  db = await openDatabase(url)
})

afterAll(async () => {
  await db?.close()
})

beforeEach(async () => {
  for (const table of ['run_logs', 'step_states', 'schedule_fires', 'runs', 'workflows'])
    await db.knex(table).delete()
  for (const id of ['a', 'b'])
    await db.knex('workflows').insert({
      id,
      current_version: 1,
      trigger_kind: 'manual',
      created_at: 0,
      updated_at: 0,
    })
})

describe(`pruning ended runs (${TEST_DB})`, () => {
  it('deletes runs that ended longer ago than maxAge, with their step rows and log lines', async () => {
    const old = await many(3, () => ({ endedDaysAgo: 8 }))
    const young = await many(2, () => ({ endedDaysAgo: 6 }))
    const summary = await pruner({ rules: [{ status: 'succeeded', maxAgeMs: 7 * DAY }] }).pass()
    expect(summary).toMatchObject({ runs: 3, steps: 3 * STEPS, logs: 6 })
    expect(summary.byStatus).toEqual({ succeeded: 3, failed: 0, cancelled: 0 })
    expect(await kept([...old, ...young])).toEqual(young)
  })

  it('keeps the newest `keep` runs of each workflow', async () => {
    // a: 5 runs, ended 5..1 days ago; b: 2 runs
    const a = await many(5, (i) => ({ workflow: 'a', endedDaysAgo: 5 - i }))
    const b = await many(2, (i) => ({ workflow: 'b', endedDaysAgo: 10 - i }))
    const summary = await pruner({ rules: [{ status: 'succeeded', keep: 3 }] }).pass()
    expect(summary.runs).toBe(2)
    expect(await kept([...a, ...b])).toEqual([...a.slice(2), ...b])
  })

  it('applies maxAge and keep together: whichever deletes more', async () => {
    const a = await many(4, (i) => ({ workflow: 'a', endedDaysAgo: 4 - i })) // 4, 3, 2, 1 days
    const b = await many(4, (i) => ({ workflow: 'b', endedDaysAgo: 40 - i })) // all older than 30 days
    await pruner({ rules: [{ status: 'succeeded', maxAgeMs: 30 * DAY, keep: 2 }] }).pass()
    expect(await kept([...a, ...b])).toEqual(a.slice(2))
  })

  it("keeps statuses apart: each status's rule deletes only runs of that status", async () => {
    const succeeded = await many(2, () => ({ status: 'succeeded', endedDaysAgo: 10 }))
    const failed = await many(2, (i) => ({ status: 'failed', endedDaysAgo: 10 + i * 30 })) // 10 and 40 days
    const cancelled = await many(2, () => ({ status: 'cancelled', endedDaysAgo: 100 }))
    const summary = await pruner({
      rules: [
        { status: 'succeeded', maxAgeMs: 7 * DAY },
        { status: 'failed', maxAgeMs: 30 * DAY },
      ],
    }).pass()
    expect(summary.byStatus).toEqual({ succeeded: 2, failed: 1, cancelled: 0 })
    expect(await kept([...succeeded, ...failed, ...cancelled])).toEqual([failed[0], ...cancelled])
  })

  it('never touches a run that has not ended, whatever its times', async () => {
    const unfinished = [
      await seed({ status: 'queued', endedDaysAgo: null }),
      await seed({ status: 'running', endedDaysAgo: null }),
      await seed({ status: 'waiting', endedDaysAgo: null }),
      // an unfinished run with a stale finished_at (a retried run's old end) is not ended either
      await seed({ status: 'running', endedDaysAgo: 50 }),
    ]
    const all = ['succeeded', 'failed', 'cancelled'] as const
    const summary = await pruner({ rules: all.map((status) => ({ status, maxAgeMs: 0, keep: 0 })) }).pass()
    expect(summary.runs).toBe(0)
    expect(await kept(unfinished)).toEqual(unfinished)
  })

  it('leaves an ended run that a process holds (a retry under way) until its lease has lapsed', async () => {
    const held = await seed({
      status: 'failed',
      endedDaysAgo: 40,
      owner: 'p',
      leaseUntil: Date.now() + 60_000,
    })
    const lapsed = await seed({ status: 'failed', endedDaysAgo: 40, owner: 'p', leaseUntil: Date.now() - 1 })
    await pruner({ rules: [{ status: 'failed', maxAgeMs: 30 * DAY, keep: 0 }] }).pass()
    expect(await kept([held, lapsed])).toEqual([held])
  })

  it('deletes in batches of at most batchSize runs, oldest first', async () => {
    const ids = await many(23, (i) => ({ endedDaysAgo: 100 - i }))
    const p = pruner({ rules: [{ status: 'succeeded', maxAgeMs: DAY }], batchSize: 5, pauseMs: 20 })
    const batches: number[] = []
    const left: Promise<string[]>[] = []
    // each event comes once its batch has committed, before the pause
    p.events.on('batch', (_status, rows) => {
      batches.push(rows.runs)
      left.push(runIds())
    })
    const summary = await p.pass()
    expect(batches).toEqual([5, 5, 5, 5, 3])
    expect(await Promise.all(left)).toEqual([5, 10, 15, 20, 23].map((n) => ids.slice(n)))
    expect(summary).toMatchObject({ runs: 23, batches: 5 })
    expect(await kept(ids)).toEqual([])
  })

  it('stops between batches when asked to', async () => {
    await many(12, () => ({ endedDaysAgo: 100 }))
    const p = pruner({ rules: [{ status: 'succeeded', maxAgeMs: DAY }], batchSize: 4, pauseMs: 50 })
    p.events.once('batch', () => void p.stop())
    const summary = await p.pass()
    expect(summary.runs).toBe(4)
    expect((await runIds()).length).toBe(8)
  })

  it('deletes each run once when two pruners run at once', async () => {
    const a = await many(40, (i) => ({ workflow: 'a', endedDaysAgo: 50 - i }))
    const b = await many(40, (i) => ({ workflow: 'b', endedDaysAgo: 50 - i }))
    // a second connection, as a second process on PostgreSQL would have (on SQLite, the same one)
    const other = TEST_DB === 'postgres' ? await openDatabase(url) : db
    try {
      const options = { rules: [{ status: 'succeeded' as const, maxAgeMs: 20 * DAY, keep: 5 }], batchSize: 3 }
      const [one, two] = await Promise.all([pruner(options).pass(), pruner(options, other).pass()])
      // they shared the work: both deleted runs, none twice
      expect([one.runs > 0, two.runs > 0]).toEqual([true, true])
      // a: the runs ended 50..21 days ago go by age; of the 10 left, keep 5; b the same
      expect(one.runs + two.runs).toBe(2 * (30 + 5))
      expect(await kept([...a, ...b])).toEqual([...a.slice(35), ...b.slice(35)])
    } finally {
      if (other !== db) await other.close()
    }
  })

  it("marks a schedule's fire of a pruned run, so that it is not started again", async () => {
    const id = await seed({ endedDaysAgo: 10 })
    await db.knex('schedule_fires').insert({
      workflow_id: 'a',
      due_at: NOW - 10 * DAY,
      fired_at: NOW - 10 * DAY,
      run_id: id,
      outcome: 'started',
    })
    await pruner({ rules: [{ status: 'succeeded', maxAgeMs: DAY }] }).pass()
    const fires = await db.knex('schedule_fires').select('run_id', 'outcome')
    expect(fires).toEqual([{ run_id: id, outcome: 'pruned' }])
  })

  it("deletes the fires of pruned runs and skipped due times, but each workflow's latest fire and those of stored runs", async () => {
    const old = await many(3, () => ({ endedDaysAgo: 10 }))
    const young = await seed({ endedDaysAgo: 0 })
    const fire = (workflow_id: string, daysAgo: number, run_id: string | null) => ({
      workflow_id,
      due_at: NOW - daysAgo * DAY,
      fired_at: NOW - daysAgo * DAY,
      run_id,
      outcome: run_id ? 'started' : 'skipped',
    })
    await db.knex('schedule_fires').insert([
      fire('a', 12, old[0]!),
      fire('a', 11, null),
      fire('a', 10, old[1]!),
      fire('a', 1, young),
      // workflow b's latest fire is of a run that goes now: it stays, marked
      fire('b', 13, null),
      fire('b', 10, old[2]!),
    ])
    const summary = await pruner({ rules: [{ status: 'succeeded', maxAgeMs: 7 * DAY }] }).pass()
    expect(summary).toMatchObject({ runs: 3, fires: 4 })
    const fires = await db
      .knex('schedule_fires')
      .select('workflow_id', 'run_id', 'outcome')
      .orderBy(['workflow_id', 'due_at'])
    expect(fires).toEqual([
      { workflow_id: 'a', run_id: young, outcome: 'started' },
      { workflow_id: 'b', run_id: old[2], outcome: 'pruned' },
    ])
  })

  it('reports a pass that meets an error, and tries again at the next interval', async () => {
    const away = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })
    const broken = { kind: db.kind, knex: { transaction: () => Promise.reject(away) } } as unknown as Database
    const p = pruner(
      { rules: [{ status: 'succeeded', maxAgeMs: DAY }], intervalMs: 10, firstPassMs: 0 },
      broken,
    )
    expect(await p.pass()).toMatchObject({ runs: 0, error: away })
    const warnings: object[] = []
    p.logTo({ info: () => {}, warn: (fields) => warnings.push(fields) }).start()
    const deadline = Date.now() + 5_000
    while (warnings.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    await p.stop()
    expect(warnings.slice(0, 2)).toEqual([{ err: away }, { err: away }])
  })

  it('runs passes on its timer and logs one line per pass that deleted something', async () => {
    await many(3, () => ({ endedDaysAgo: 10 }))
    const lines: { fields: object; msg: string }[] = []
    const log = { info: (fields: object, msg: string) => lines.push({ fields, msg }), warn: () => {} }
    const p = pruner({ rules: [{ status: 'succeeded', maxAgeMs: DAY }], intervalMs: 20, firstPassMs: 0 })
    p.logTo(log).start()
    const deadline = Date.now() + 5_000
    while ((await runIds()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 100)) // more passes, which delete nothing and log nothing
    await p.stop()
    expect(lines).toEqual([
      {
        msg: 'runs pruned',
        fields: expect.objectContaining({
          succeeded: 3,
          failed: 0,
          cancelled: 0,
          stepRows: 3 * STEPS,
          logLines: 6,
          scheduleFires: 0,
        }),
      },
    ])
  })
})
