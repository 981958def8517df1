// No crash loops: a step whose attempt was under way each time `piecework serve` died fails with
// CRASHED after `runs.maxInterruptions` (2) deaths instead of being run again, and the server stays
// up. A graceful stop is not a death: a step it interrupts runs again however often it happens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, killTestEnv, ServeProcess, sleep } from '../helpers/serve-process.js'
import { until } from '../helpers/until.js'
import { burn } from './workflows.js'

interface StepView {
  id: string
  status: string
  attempts: number
  error: { code: string; message: string } | null
}

interface RunView {
  id: string
  status: string
  output: unknown
  error: { code: string; message: string; stepId?: string } | null
  steps: StepView[]
}

const stepOf = (run: RunView, id: string) => run.steps.find((s) => s.id === id)!

/** A step that logs `line` as it starts, then keeps its worker busy for `ms`. */
const spinning = (id: string, line: string, ms: number, extra: Record<string, unknown> = {}) => ({
  id,
  uses: 'code.run',
  timeout: '2m',
  with: { code: `console.log('${line}')\n${burn(ms, '{ spins }')}` },
  ...extra,
})

describe(`a step that was running each time the process died (${TEST_DB})`, () => {
  let serve: ServeProcess
  let databaseUrl: string

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl()
    const port = await freePort()
    serve = new ServeProcess(port, {
      // on PostgreSQL a killed process's runs are taken over once their leases expire
      ...killTestEnv(port, databaseUrl),
      PIECEWORK_RUNS_SHUTDOWN_GRACE: '200ms',
    })
    await serve.start()
  }, 90_000)

  afterAll(async () => {
    if (serve?.running) await serve.kill()
  })

  /** How many times the step has started: the lines it logged as it began. */
  async function starts(runId: string, line: string): Promise<number> {
    const logs = await serve.json<{ items: { msg: string }[] }>(`/api/v1/runs/${runId}/logs?limit=500`)
    return logs.items.filter((l) => l.msg === line).length
  }

  /** The step's stored row, read while no process is alive. */
  async function stepRow(runId: string, stepId: string) {
    const db = await openDatabase(databaseUrl, { migrate: false })
    try {
      return await db.knex('step_states').where({ run_id: runId, step_id: stepId }).first()
    } finally {
      await db.close()
    }
  }

  it('fails it with CRASHED at the second restart, follows onError, and stays up', async () => {
    const began = Date.now()
    await serve.json(
      '/api/v1/workflows',
      {
        json: {
          id: 'crash-loop',
          trigger: { uses: 'manual' },
          steps: [
            // a retry policy does not bring a crashed attempt back
            spinning('spin', 'spinning', 15_000, { retry: { attempts: 3, delay: '100ms' } }),
            { id: 'after', uses: 'code.run', needs: ['spin'], with: { code: 'return 1' } },
          ],
        },
      },
      201,
    )
    const { id } = await serve.json<{ id: string }>('/api/v1/workflows/crash-loop/runs', { json: {} }, 202)

    for (let death = 1; death <= 2; death++) {
      await until(`start ${death} of the step`, 30_000, async () => (await starts(id, 'spinning')) === death)
      const exit = await serve.kill()
      expect(exit.signal).toBe('SIGKILL')
      const row = await stepRow(id, 'spin')
      expect([row.status, Number(row.attempts), Number(row.interruptions)]).toEqual(['running', 1, death - 1])
      await serve.start()
    }

    await until('the run to fail', 30_000, async () => {
      const run = await serve.json<RunView>(`/api/v1/runs/${id}`)
      return run.status === 'failed'
    })
    const run = await serve.json<RunView>(`/api/v1/runs/${id}`)
    const message =
      "the step's attempt was interrupted 2 times (the engine stopped while it ran); not running it again"
    expect(run.error).toEqual({ code: 'CRASHED', message, stepId: 'spin' })
    expect(stepOf(run, 'spin')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'CRASHED' } })
    expect(stepOf(run, 'after').status).toBe('skipped')
    // not started a third time, and the process serves on: a run of another workflow succeeds
    await sleep(1_000)
    expect(await starts(id, 'spinning')).toBe(2)
    expect(serve.serving, serve.output().slice(-4000)).toBe(true)
    await serve.json(
      '/api/v1/workflows',
      {
        json: {
          id: 'crash-loop-caught',
          trigger: { uses: 'manual' },
          steps: [
            spinning('spin', 'spinning', 15_000, { onError: 'branch' }),
            { id: 'handled', uses: 'code.run', needs: ['spin:error'], with: { code: 'return input.code' } },
          ],
          output: '{{ steps.handled.output }}',
        },
      },
      201,
    )
    const caught = await serve.json<{ id: string }>(
      '/api/v1/workflows/crash-loop-caught/runs',
      { json: {} },
      202,
    )
    for (let death = 1; death <= 2; death++) {
      await until(
        `start ${death} of the caught step`,
        30_000,
        async () => (await starts(caught.id, 'spinning')) === death,
      )
      await serve.kill()
      await serve.start()
    }
    await until('the caught run to end', 30_000, async () => {
      const r = await serve.json<RunView>(`/api/v1/runs/${caught.id}`)
      return r.status !== 'running' && r.status !== 'queued'
    })
    const handled = await serve.json<RunView>(`/api/v1/runs/${caught.id}`)
    expect(handled.status, JSON.stringify(handled.error)).toBe('succeeded')
    expect(handled.output).toBe('CRASHED')
    expect(serve.serving).toBe(true)

    const exit = await serve.terminate()
    expect(exit.code, serve.output().slice(-4000)).toBe(0)
    const row = await stepRow(id, 'spin')
    expect([row.status, Number(row.interruptions)]).toEqual(['failed', 2])
    await serve.start()
    console.log(`crash loop (${TEST_DB}): test took ${((Date.now() - began) / 1000).toFixed(1)} s`)
  }, 180_000)

  it('does not count a graceful stop: a step stopped by two SIGTERMs runs a third time and succeeds', async () => {
    await serve.json(
      '/api/v1/workflows',
      {
        json: {
          id: 'graceful-spin',
          trigger: { uses: 'manual' },
          steps: [spinning('spin', 'turning', 3_000)],
        },
      },
      201,
    )
    const { id } = await serve.json<{ id: string }>('/api/v1/workflows/graceful-spin/runs', { json: {} }, 202)
    for (let stop = 1; stop <= 2; stop++) {
      await until(`start ${stop} of the step`, 30_000, async () => (await starts(id, 'turning')) === stop)
      const exit = await serve.terminate()
      expect(exit.code, serve.output().slice(-4000)).toBe(0)
      const row = await stepRow(id, 'spin')
      expect([row.status, Number(row.interruptions)]).toEqual(['running', 0])
      await serve.start()
    }
    await until('the run to end', 30_000, async () => {
      const r = await serve.json<RunView>(`/api/v1/runs/${id}`)
      return r.status !== 'running' && r.status !== 'queued'
    })
    const run = await serve.json<RunView>(`/api/v1/runs/${id}`)
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded')
    expect(stepOf(run, 'spin').attempts).toBe(1)
    expect(await starts(id, 'turning')).toBe(3)
  }, 120_000)
})
