// Figure 5 — CPU-heavy code steps: 8 runs of a code.run that spins for 200 ms, started together
// over HTTP, against 8 times one such run alone; meanwhile /health is polled every 5 ms, to show
// that the server's event loop stays free while the workers burn.

import { sqliteFile } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { pollHealth } from './lib/health.mjs'
import { closeAgent, expectStatus } from './lib/http.mjs'
import { Server } from './lib/server.mjs'
import { median, now, percentile, sleep } from './lib/stats.mjs'
import { burnWorkflow } from './lib/workflows.mjs'

const BURN_MS = 200
const RUNS = 8
const RATIO_TARGET = 0.55
const HEALTH_P99_TARGET_MS = 20

function startRun(server) {
  return expectStatus(
    `${server.url}/api/v1/workflows/burn/runs?wait=60s`,
    { method: 'POST', json: { input: {} } },
    200,
  ).then((res) => {
    if (res.body.status !== 'succeeded') throw new Error(`the burn run ended ${res.body.status}: ${res.text}`)
    return res
  })
}

async function once(server) {
  const singles = []
  for (let i = 0; i < 3; i++) {
    const started = now()
    await startRun(server)
    singles.push(now() - started)
  }
  const single = median(singles)
  const stopPolling = pollHealth(server)
  await sleep(20)
  const started = now()
  await Promise.all(Array.from({ length: RUNS }, () => startRun(server)))
  const together = now() - started
  const health = await stopPolling()
  return {
    single,
    together,
    ratio: together / (RUNS * single),
    healthP99: percentile(health, 99),
    healthMax: Math.max(...health),
    polls: health.length,
  }
}

export async function cpuSteps({ reps }) {
  const db = sqliteFile()
  const server = new Server({
    databaseUrl: db.url,
    workflows: [burnWorkflow('burn', BURN_MS)],
    name: 'cpu-steps',
  })
  try {
    await server.start()
    const ready = await expectStatus(`${server.url}/ready`, {}, 200)
    await startRun(server) // warm-up: the first code.run loads SES compartments in a worker
    await Promise.all(Array.from({ length: ready.body.threads }, () => startRun(server)))
    const results = []
    for (let rep = 0; rep < reps; rep++) {
      const r = await once(server)
      results.push(r)
      log(
        `cpu rep ${rep + 1}/${reps}: one run ${r.single.toFixed(0)} ms, ${RUNS} together ${r.together.toFixed(0)} ms = ${r.ratio.toFixed(2)}× serial; /health p99 ${r.healthP99.toFixed(1)} ms over ${r.polls} polls`,
      )
    }
    const mid = (f) => median(results.map(f))
    return [
      {
        figure: `${RUNS} CPU-heavy runs together vs ${RUNS}× one alone`,
        value: mid((r) => r.ratio),
        unit: '×',
        target: { op: '<=', value: RATIO_TARGET },
        samples: results.map((r) => r.ratio),
        notes: `${ready.body.threads} worker threads; one ${BURN_MS} ms burn alone ${mid((r) => r.single).toFixed(0)} ms, ${RUNS} together ${mid((r) => r.together).toFixed(0)} ms (ideal ${((RUNS / ready.body.threads) * BURN_MS).toFixed(0)} ms)`,
        how: 'wall time of 8 concurrent POST …/runs?wait=60s / (8 × the median of 3 lone runs, each timed the same way)',
        extra: results,
      },
      {
        figure: '/health p99 while the workers burn',
        value: mid((r) => r.healthP99),
        unit: 'ms',
        target: { op: '<=', value: HEALTH_P99_TARGET_MS },
        samples: results.map((r) => r.healthP99),
        how: 'GET /health one request at a time, a new one every 5 ms, while the 8 runs burn',
        notes: `polled every 5 ms, ${mid((r) => r.polls)} polls a rep; max ${Math.max(...results.map((r) => r.healthMax)).toFixed(1)} ms`,
      },
    ]
  } catch (error) {
    error.message += `\n--- server output ---\n${server.tail()}`
    throw error
  } finally {
    closeAgent()
    await server.close()
    await db.remove()
  }
}

await runIfMain(import.meta.url, cpuSteps)
