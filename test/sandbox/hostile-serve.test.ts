// One bad workflow must never take the engine down: against a real `piecework serve`, with ordinary
// runs going all along, every hostile shape fails its own run with its code, and nothing else stops.
import { spawn } from 'node:child_process'
import { statSync } from 'node:fs'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, ServeProcess, serveEnv, sleep } from '../helpers/serve-process.js'
import { GROWING, HOSTILE_SHAPES, HOSTILE_TIMEOUT_S, hostileWorkflow, ORDINARY } from './hostile-shapes.js'

interface Run {
  id: string
  status: string
  error?: { code: string; message: string }
  steps?: { id: string; error?: { message: string } }[]
}

/**
 * Probes /health every 50 ms from a process of its own, so that what is measured is the server's
 * answer and not this test process's own event loop, busy with the ordinary runs' requests.
 */
const PROBE = `
const times = []; let failures = 0; const failed = []; let on = true; const t0 = performance.now()
process.stdin.on('end', () => { on = false }); process.stdin.resume()
;(async () => {
  while (on) {
    const t = performance.now()
    try {
      const res = await fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      if (res.status !== 200) { failures++; failed.push({ at: t - t0, status: res.status }) }
      await res.text()
      times.push(performance.now() - t)
    } catch (error) {
      failures++
      failed.push({ at: t - t0, after: performance.now() - t, error: String(error.cause ?? error) })
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  process.stdout.write(JSON.stringify({ times, failures, failed }))
})()`

function probeHealth(server: ServeProcess) {
  const child = spawn(process.execPath, ['-e', PROBE, `${server.url}/health`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return {
    async stop() {
      child.stdin.end()
      await exited
      const { times, failures, failed } = JSON.parse(out) as {
        times: number[]
        failures: number
        failed: unknown[]
      }
      times.sort((a, b) => a - b)
      return {
        failures,
        failed,
        probes: times.length,
        p99: times[Math.floor(times.length * 0.99)] ?? 0,
        max: times.at(-1) ?? 0,
      }
    },
  }
}

/** Keeps `width` ordinary runs going until stopped; returns every run's end. */
function keepOrdinaryRuns(server: ServeProcess, width: number) {
  const ends: Run[] = []
  let on = true
  const lanes = Array.from({ length: width }, async (_, lane) => {
    while (on) {
      // one request a run: the answer comes when the run has ended
      const res = await server.request('/api/v1/workflows/ordinary/runs?wait=60s', {
        json: { input: { n: lane } },
        signal: AbortSignal.timeout(70_000),
      })
      const run = (await res.json()) as Run
      ends.push(res.status === 200 ? run : await waitForEnd(server, run.id, 60_000))
    }
  })
  return {
    async stop() {
      on = false
      await Promise.all(lanes)
      return ends
    },
  }
}

async function waitForEnd(server: ServeProcess, id: string, timeoutMs: number): Promise<Run> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const run = await server.json<Run>(`/api/v1/runs/${id}`).catch(() => undefined)
    if (run && ['succeeded', 'failed', 'cancelled'].includes(run.status)) return run
    if (Date.now() > deadline)
      throw new Error(`run ${id} did not end within ${timeoutMs} ms: ${JSON.stringify(run)}`)
    await sleep(100)
  }
}

async function databaseBytes(url: string): Promise<number> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length)
    return [file, `${file}-wal`].reduce(
      (sum, f) => sum + (statSync(f, { throwIfNoEntry: false })?.size ?? 0),
      0,
    )
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const { rows } = await client.query('select pg_database_size(current_database()) as size')
  await client.end()
  return Number(rows[0].size)
}

describe(`hostile workflows against piecework serve (${TEST_DB})`, () => {
  let server: ServeProcess
  let databaseUrl: string

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl()
    server = new ServeProcess(await freePort(), {
      ...serveEnv(0, databaseUrl),
      PIECEWORK_SERVER_PORT: '0',
      PIECEWORK_WORKERS_MEMORY_LIMIT_MB: '128',
      PIECEWORK_SANDBOX_PROCESS_MEMORY_MB: '512',
    })
    // the port is chosen by the test; serveEnv's 0 is replaced here
    ;(server as unknown as { env: NodeJS.ProcessEnv }).env.PIECEWORK_SERVER_PORT = String(server.port)
    await server.start()
    await server.json('/api/v1/workflows', { json: ORDINARY }, 201)
    for (const shape of HOSTILE_SHAPES)
      await server.json('/api/v1/workflows', { json: hostileWorkflow(shape) }, 201)
  })
  afterAll(async () => server?.stop())

  it('fails each hostile run with its code while 20 ordinary runs go on and /health answers', async () => {
    const before = await databaseBytes(databaseUrl)
    const health = probeHealth(server)
    const ordinary = keepOrdinaryRuns(server, 20)
    const outcomes: string[] = []
    for (const shape of HOSTILE_SHAPES) {
      const t = Date.now()
      const started = await server.json<{ id: string }>(
        `/api/v1/workflows/hostile-${shape.name}/runs`,
        { json: {} },
        202,
      )
      const run = await waitForEnd(server, started.id, (HOSTILE_TIMEOUT_S + 15) * 1000)
      const seconds = (Date.now() - t) / 1000
      outcomes.push(`${shape.name}: ${run.status} ${run.error?.code} in ${seconds.toFixed(1)} s`)
      expect(run.status, shape.name).toBe('failed')
      expect(shape.expect, `${shape.name}: ${run.error?.message}`).toContain(run.error?.code)
      expect(seconds, shape.name).toBeLessThan(HOSTILE_TIMEOUT_S + 8)
      expect(server.running).toBe(true)
    }
    const ends = await ordinary.stop()
    const probes = await health.stop()
    console.log(`${outcomes.join('\n')}\nordinary runs: ${ends.length}; /health: ${JSON.stringify(probes)}`)
    expect(ends.length).toBeGreaterThanOrEqual(20)
    expect(ends.filter((r) => r.status !== 'succeeded')).toEqual([])
    expect(probes.failures, JSON.stringify(probes.failed)).toBe(0)
    expect(probes.p99).toBeLessThan(100)
    expect(server.running).toBe(true)
    const grown = (await databaseBytes(databaseUrl)) - before
    expect(grown).toBeLessThan(50 * 1024 * 1024)
    // each hostile run may take its step timeout and a few seconds: more than vitest's 60 s in all
  }, 180_000)

  it('keeps what crosses back bounded: a log flood and a huge error message', async () => {
    const flood = await server.json<Run>('/api/v1/workflows/hostile-log-flood/runs?wait=30s', { json: {} })
    const lines: { msg: string }[] = []
    let cursor: string | null = ''
    while (cursor !== null) {
      const page: { items: { msg: string }[]; nextCursor: string | null } = await server.json(
        `/api/v1/runs/${flood.id}/logs?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )
      lines.push(...page.items)
      cursor = page.nextCursor
    }
    // the step's own lines, its "dropped" line, and the engine's line about the failure
    expect(lines.length).toBeLessThanOrEqual(1_003)
    expect(lines.some((l) => /log line\(s\) dropped/.test(l.msg))).toBe(true)
    expect(Math.max(...lines.map((l) => l.msg.length))).toBeLessThan(17 * 1024)
    const huge = await server.json<Run>('/api/v1/workflows/hostile-huge-error/runs?wait=30s', { json: {} })
    const bomb = huge.steps?.find((s) => s.id === 'bomb')
    expect(bomb?.error?.message.length ?? 0).toBeLessThan(9 * 1024)
  }, 90_000)

  it('comes back from a SIGKILL in the middle without a crash loop', async () => {
    const ordinary = await server.json<{ id: string }>(
      '/api/v1/workflows/ordinary/runs',
      { json: { input: { n: 1 } } },
      202,
    )
    const bomb = await server.json<{ id: string }>('/api/v1/workflows/hostile-map/runs', { json: {} }, 202)
    await sleep(1_000)
    await server.kill()
    await server.start()
    const bombEnd = await waitForEnd(server, bomb.id, 60_000)
    expect(bombEnd.status).toBe('failed')
    // CRASHED when the attempt was interrupted too often; else it ends as a growing shape does
    expect([...GROWING, 'CRASHED']).toContain(bombEnd.error?.code)
    expect((await waitForEnd(server, ordinary.id, 60_000)).status).toBe('succeeded')
    await sleep(1_000)
    expect(server.running).toBe(true)
    expect(server.starts).toBe(2)
  }, 120_000)
})
