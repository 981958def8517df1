// Restarts that are not crashes: a graceful SIGTERM with work in flight, passivated runs and due
// timers across a stop, and a retry backoff that outlives the engine that started it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, ServeProcess, serveEnv, sleep } from '../helpers/serve-process.js'
import { until } from '../helpers/until.js'
import { SideEffectServer } from './side-effect-server.js'
import { burn, effect } from './workflows.js'

interface StepView {
  id: string
  status: string
  attempts: number
  output: unknown
  error: unknown
}

interface RunView {
  id: string
  status: string
  output: unknown
  error: unknown
  steps: StepView[]
}

const stepOf = (run: RunView, id: string) => run.steps.find((s) => s.id === id)!

/** Seconds since `from`, for the timing lines each test prints. */
const since = (from: number) => `${((Date.now() - from) / 1000).toFixed(1)} s`

/** An in-process engine on `databaseUrl`; each test closes what it opens, in a `finally`. */
const open = (databaseUrl: string, options: { passivateAfterMs?: number; pollMs?: number } = {}) =>
  Engine.open({ databaseUrl, threads: 2, ...options })

describe(`a graceful shutdown with runs in flight (${TEST_DB})`, () => {
  const GRACE_MS = 5_000
  let effects: SideEffectServer
  let serve: ServeProcess

  beforeAll(async () => {
    effects = await SideEffectServer.start({ latencyMs: [20, 60] })
    const port = await freePort()
    serve = new ServeProcess(port, {
      ...serveEnv(port, await freshDatabaseUrl()),
      PIECEWORK_WORKERS_THREADS: '2',
      PIECEWORK_RUNS_SHUTDOWN_GRACE: `${GRACE_MS}ms`,
    })
    await serve.start()
  }, 90_000)

  afterAll(async () => {
    if (serve?.running) await serve.kill()
    await effects?.close()
  })

  it('exits 0 within the grace period, and after a restart finishes every run without re-running finished code', async () => {
    const began = Date.now()
    await serve.json(
      '/api/v1/workflows',
      {
        json: {
          id: 'graceful',
          trigger: { uses: 'manual' },
          steps: [
            {
              id: 'work',
              uses: 'code.run',
              with: { code: `console.log('burning')\n${burn(500, '{ token: Math.random() }')}` },
            },
            effect('mark', ['work'], effects.url),
            { id: 'long', uses: 'flow.delay', needs: ['mark'], with: { for: '4s' } },
            { id: 'done', uses: 'code.run', needs: ['long'], with: { code: 'return steps.work.output' } },
          ],
        },
      },
      201,
    )
    const ids: string[] = []
    for (let n = 0; n < 6; n++) {
      ids.push((await serve.json<{ id: string }>('/api/v1/workflows/graceful/runs', { json: {} }, 202)).id)
    }
    // two workers, six 500 ms burns: stop once some burns are done and others are under way
    const finished = new Map<string, unknown>()
    await until('two finished burns', 20_000, async () => {
      for (const id of ids) {
        const work = stepOf(await serve.json<RunView>(`/api/v1/runs/${id}`), 'work')
        if (work.status === 'succeeded') finished.set(id, work.output)
      }
      return finished.size >= 2
    })
    expect(finished.size).toBeLessThan(ids.length)

    const exit = await serve.terminate()
    expect(exit.code, serve.output()).toBe(0)
    expect(exit.ms).toBeLessThan(GRACE_MS)

    await serve.start()
    const runs = new Map<string, RunView>()
    await until('every run to end', 30_000, async () => {
      for (const id of ids) runs.set(id, await serve.json<RunView>(`/api/v1/runs/${id}`))
      return [...runs.values()].every((r) => ['succeeded', 'failed', 'cancelled'].includes(r.status))
    })
    for (const id of ids) {
      const run = runs.get(id)!
      expect(run.status, JSON.stringify(run.error)).toBe('succeeded')
      expect(stepOf(run, 'work').attempts).toBe(1)
      expect(run.output).toEqual(stepOf(run, 'work').output)
      if (finished.has(id)) expect(stepOf(run, 'work').output).toEqual(finished.get(id))
      const logs = await serve.json<{ items: { stepId: string | null; msg: string }[] }>(
        `/api/v1/runs/${id}/logs?limit=500`,
      )
      const burns = logs.items.filter((l) => l.stepId === 'work' && l.msg.includes('burning'))
      expect(burns, `run ${id}: the code step ran ${burns.length} times`).toHaveLength(1)
      expect(effects.callsFor(`${id}:mark`)).toHaveLength(1)
    }
    console.log(`restart (${TEST_DB}): SIGTERM exit in ${exit.ms} ms; graceful test took ${since(began)}`)
  }, 120_000)
})

describe(`runs across an engine restart (${TEST_DB})`, () => {
  it('brings 300 passivated runs back after a restart and finishes them after their delay', async () => {
    const began = Date.now()
    const databaseUrl = await freshDatabaseUrl()
    const first = await open(databaseUrl)
    // a started engine passivates runs that only wait (an engine that is not started keeps them)
    await first.start()
    let closed = false
    let wakeAt = 0
    try {
      await first.deploy({
        id: 'parked',
        trigger: { uses: 'manual' },
        steps: [
          { id: 'park', uses: 'flow.delay', with: { for: '3s' } },
          { id: 'after', uses: 'code.run', needs: ['park'], with: { code: 'return { n: input.n }' } },
        ],
      })
      await Promise.all(Array.from({ length: 300 }, (_, n) => first.startRun('parked', { n })))
      await until('300 passivated runs', 10_000, async () => {
        const [row] = await first.db
          .knex('runs')
          .where({ status: 'waiting' })
          .whereNull('owner')
          .count({ n: '*' })
        return Number(row?.n) === 300
      })
      expect(first.activeRuns).toBe(0)
      const [earliest] = await first.db.knex('step_states').where({ step_id: 'park' }).min({ at: 'wake_at' })
      wakeAt = Number(earliest?.at)
      await first.close()
      closed = true
      expect(Date.now(), 'the engine must close before the first delay ends').toBeLessThan(wakeAt)
    } finally {
      if (!closed) await first.close()
    }

    const second = await open(databaseUrl)
    try {
      await second.start()
      await until('300 succeeded runs', 30_000, async () => {
        const [row] = await second.db.knex('runs').where({ status: 'succeeded' }).count({ n: '*' })
        return Number(row?.n) === 300
      })
      const runs: { output: string }[] = await second.db.knex('runs').select('output')
      expect(runs).toHaveLength(300)
      expect(new Set(runs.map((r) => JSON.parse(r.output).n)).size).toBe(300)
      const parks: { started_at: string; finished_at: string; attempts: number }[] = await second.db
        .knex('step_states')
        .where({ step_id: 'park' })
      expect(parks).toHaveLength(300)
      for (const park of parks) {
        expect(park.attempts).toBe(1)
        expect(Number(park.finished_at) - Number(park.started_at)).toBeGreaterThanOrEqual(3_000)
      }
    } finally {
      await second.close()
    }
    console.log(`restart (${TEST_DB}): 300 passivated runs test took ${since(began)}`)
  }, 90_000)

  it('fires at start a delay that fell due while the engine was down, in memory or passivated', async () => {
    const began = Date.now()
    const databaseUrl = await freshDatabaseUrl()
    const delayed = (id: string, ms: number) => ({
      id,
      trigger: { uses: 'manual' },
      steps: [
        { id: 'wait', uses: 'flow.delay', with: { for: ms } },
        { id: 'after', uses: 'code.run', needs: ['wait'], with: { code: 'return { fired: Date.now() }' } },
      ],
    })
    // the short delay stays in memory until the stop; the long one passivates first
    const first = await open(databaseUrl, { passivateAfterMs: 3_000 })
    await first.start()
    let ids: string[] = []
    let dueAt = 0
    try {
      await first.deploy(delayed('late-short', 2_000))
      await first.deploy(delayed('late-long', 4_000))
      ids = [(await first.startRun('late-short', {})).id, (await first.startRun('late-long', {})).id]
      await until('both delays waiting, the long one passivated', 10_000, async () => {
        const rows = await first.db.knex('runs').whereIn('id', ids).where({ status: 'waiting' })
        return rows.length === 2 && rows.some((r) => r.owner === null)
      })
      const rows = await first.db.knex('step_states').where({ step_id: 'wait' }).whereIn('run_id', ids)
      const dues = rows.map((r) => Number(r.wake_at))
      dueAt = Math.max(...dues)
      expect(Date.now(), 'the engine must stop before the short delay ends').toBeLessThan(Math.min(...dues))
    } finally {
      await first.close()
    }
    await sleep(dueAt - Date.now() + 500)

    // a poll interval far beyond the test: only the start itself may fire the timers
    const second = await open(databaseUrl, { pollMs: 600_000 })
    try {
      const startedAt = Date.now()
      expect(await second.start()).toBe(2)
      for (const id of ids) {
        const run = await second.getRun(id, 5_000)
        expect(run.status, JSON.stringify(run.error)).toBe('succeeded')
        expect((run.output as { fired: number }).fired).toBeGreaterThanOrEqual(startedAt)
      }
    } finally {
      await second.close()
    }
    console.log(`restart (${TEST_DB}): due-while-down test took ${since(began)}`)
  }, 60_000)

  it('keeps a retry backoff across a restart: the step runs attempt 2 after the backoff', async () => {
    const began = Date.now()
    const databaseUrl = await freshDatabaseUrl()
    const first = await open(databaseUrl)
    let id = ''
    let wakeAt = 0
    try {
      await first.deploy({
        id: 'flaky',
        trigger: { uses: 'manual' },
        steps: [
          {
            id: 'try',
            uses: 'code.run',
            retry: { attempts: 3, delay: '2s' },
            with: {
              code: [
                "console.log('attempt ' + attempt)",
                "if (attempt === 1) throw new Error('the first try fails')",
                'return { attempt }',
              ].join('\n'),
            },
          },
        ],
      })
      id = (await first.startRun('flaky', {})).id
      await until('the step to wait in its backoff', 10_000, async () => {
        const row = await first.db.knex('step_states').where({ run_id: id, step_id: 'try' }).first()
        return row?.status === 'waiting'
      })
      const row = await first.db.knex('step_states').where({ run_id: id, step_id: 'try' }).first()
      expect(Number(row.attempts)).toBe(1)
      expect(JSON.parse(row.error)).toMatchObject({ code: 'CODE', message: 'the first try fails' })
      wakeAt = Number(row.wake_at)
    } finally {
      await first.close()
    }
    expect(Date.now(), 'the engine must stop during the backoff').toBeLessThan(wakeAt)

    const second = await open(databaseUrl)
    try {
      await second.start()
      const run = await second.getRun(id, 15_000)
      expect(run.status, JSON.stringify(run.error)).toBe('succeeded')
      expect(run.steps).toMatchObject([
        { id: 'try', status: 'succeeded', attempts: 2, output: { attempt: 2 }, error: null },
      ])
      const logs: { msg: string; ts: string }[] = await second.db
        .knex('run_logs')
        .where({ run_id: id, step_id: 'try' })
        .orderBy('id')
      // the code's own lines (the engine adds its own about the failed attempt)
      const tries = logs.filter((l) => /^attempt \d+$/.test(l.msg))
      expect(tries.map((l) => l.msg)).toEqual(['attempt 1', 'attempt 2'])
      expect(Number(tries[1]!.ts)).toBeGreaterThanOrEqual(wakeAt)
    } finally {
      await second.close()
    }
    console.log(`restart (${TEST_DB}): retry backoff test took ${since(began)}`)
  }, 60_000)
})
