// Figure 8 — the process boundary around user code: what a trivial code.run costs through a
// sandbox process against the engine's own worker pool (the path before the boundary), measured
// in the same run; how quickly a dead sandbox process is replaced and takes work; and /health
// while memory bombs keep killing sandbox processes.
import { SandboxPool } from '../dist/src/sandbox/sandbox-pool.js'
import { WorkerPool } from '../dist/src/workers/pool.js'
import { sqliteFile } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { pollHealth } from './lib/health.mjs'
import { closeAgent, request } from './lib/http.mjs'
import { Server } from './lib/server.mjs'
import { median, now, percentile, sleep } from './lib/stats.mjs'

const ROUND_TRIP_TARGET_US = 300
/**
 * Steps each pool runs before the measured ones: a sandbox process serves steps for as long as the
 * engine runs, and V8 goes on optimising the path for its first few thousand (docs/performance.md,
 * "the sandbox round trip"). A fresh process's first steps are a row of their own.
 */
const WARM_UP = 3_000
const COLD = 200
const REPLACE_TARGET_MS = 500
const HEALTH_P99_TARGET_MS = 20

const task = (code, id) => ({
  uses: 'code.run',
  props: { code },
  input: null,
  inputs: {},
  run: { id: `r${id}`, workflowId: 'bench', workflowVersion: 1 },
  stepId: 's',
  attempt: 1,
  idempotencyKey: `r${id}:s`,
  timeoutMs: 10_000,
  maxOutputBytes: 1_000_000,
})

/** Sequential round trips of `return 1` through `place`; the latencies in µs. */
async function roundTrips(place, count) {
  const times = []
  for (let i = 0; i < count; i++) {
    const t = now()
    const reply = await place.run(task('return 1', i), new AbortController().signal, () => {})
    if (!reply.ok) throw new Error(`code.run failed: ${JSON.stringify(reply.error)}`)
    times.push((now() - t) * 1000)
  }
  return times
}

async function boundary({ quick }) {
  const count = quick ? 300 : 2_000
  const pool = new WorkerPool({ threads: 1, memoryLimitMb: 256 })
  const sandbox = new SandboxPool({
    processes: 1,
    threadsPerProcess: 1,
    memoryLimitMb: 256,
    processMemoryMb: 1024,
  })
  try {
    // the first steps of a fresh process (the first one also waits for the process to be ready)
    const cold = (await roundTrips(sandbox, COLD + 1)).slice(1)
    await roundTrips(pool, WARM_UP)
    await roundTrips(sandbox, WARM_UP - COLD)
    // alternated, so that neither side has the quieter half of the run
    const inPool = []
    const inSandbox = []
    for (let round = 0; round < 4; round++) {
      inPool.push(...(await roundTrips(pool, count / 4)))
      inSandbox.push(...(await roundTrips(sandbox, count / 4)))
    }
    return {
      pool: median(inPool),
      sandbox: median(inSandbox),
      sandboxP99: percentile(inSandbox, 99),
      cold: median(cold),
    }
  } finally {
    await Promise.all([pool.close(), sandbox.close()])
  }
}

/** From a sandbox process's death (a memory bomb) to a trivial step answered by its replacement. */
async function replacement() {
  let diedAt = 0
  const sandbox = new SandboxPool({
    processes: 1,
    threadsPerProcess: 1,
    memoryLimitMb: 256,
    processMemoryMb: 512,
    onEvent: (event) => {
      if (event.type === 'exited') diedAt = now()
    },
  })
  try {
    await roundTrips(sandbox, 20)
    const bomb = await sandbox.run(
      task('const k = []; for (;;) k.push(new Uint8Array(64 * 1024 * 1024).fill(1))', 'bomb'),
      new AbortController().signal,
      () => {},
    )
    if (bomb.ok || bomb.error.code !== 'MEMORY') throw new Error(`the bomb ended ${JSON.stringify(bomb)}`)
    await roundTrips(sandbox, 1)
    return now() - diedAt
  } finally {
    await sandbox.close()
  }
}

/** /health every 5 ms while memory bombs, one after another, kill sandbox processes. */
async function healthUnderBombs(server, ms) {
  let bombs = 0
  let on = true
  const bomber = (async () => {
    while (on) {
      const res = await request(`${server.url}/api/v1/workflows/bomb/runs?wait=30s`, {
        method: 'POST',
        json: {},
      })
      if (res.body?.error?.code !== 'MEMORY') throw new Error(`a bomb run ended ${res.text}`)
      bombs++
    }
  })()
  const stopPolling = pollHealth(server)
  await sleep(ms)
  const times = await stopPolling()
  on = false
  await bomber
  return { p99: percentile(times, 99), max: Math.max(...times), polls: times.length, bombs }
}

export async function sandboxBench(options) {
  const rows = []
  const trips = await boundary(options)
  log(
    `trivial code.run: ${trips.sandbox.toFixed(0)} µs through a sandbox process, ${trips.pool.toFixed(0)} µs in the engine's pool`,
  )
  rows.push({
    figure: 'trivial code.run round trip through the sandbox boundary (p50)',
    value: trips.sandbox,
    unit: 'µs',
    target: { op: '<=', value: ROUND_TRIP_TARGET_US },
    notes: `the same step in the engine's own worker pool (before the boundary): ${trips.pool.toFixed(0)} µs, ratio ${(trips.sandbox / trips.pool).toFixed(2)}×; p99 ${trips.sandboxP99.toFixed(0)} µs`,
    how: `sequential \`return 1\` steps handed to a SandboxPool (1 process × 1 thread) and to a WorkerPool (1 thread), alternated in 4 rounds, after ${WARM_UP.toLocaleString('en-US')} steps through each`,
  })
  rows.push({
    figure: `the same over a fresh sandbox process's first ${COLD} steps (p50)`,
    value: trips.cold,
    unit: 'µs',
    notes: 'V8 is still compiling the path: the round trip falls over the first few thousand steps',
  })
  const replaced = []
  for (let i = 0; i < (options.quick ? 1 : options.reps); i++) replaced.push(await replacement())
  log(`sandbox process replaced and answering in ${replaced.map((r) => r.toFixed(0)).join(', ')} ms`)
  rows.push({
    figure: 'sandbox process death to its replacement answering a step',
    value: median(replaced),
    unit: 'ms',
    target: { op: '<=', value: REPLACE_TARGET_MS },
    samples: replaced,
    how: 'a typed-array bomb past a 512 MB process limit; from the exit to a `return 1` answered by the new process',
  })
  const db = sqliteFile()
  const server = new Server({
    databaseUrl: db.url,
    workflows: [
      {
        id: 'bomb',
        trigger: { uses: 'manual' },
        steps: [
          {
            id: 'b',
            uses: 'code.run',
            with: { code: 'const k = []; for (;;) k.push(new Uint8Array(64 * 1024 * 1024).fill(1))' },
          },
        ],
      },
    ],
    env: { PIECEWORK_SANDBOX_PROCESS_MEMORY_MB: '512' },
    name: 'sandbox',
  })
  try {
    await server.start()
    const results = []
    for (let rep = 0; rep < options.reps; rep++) {
      const r = await healthUnderBombs(server, options.quick ? 3_000 : 8_000)
      log(
        `/health under memory bombs: p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms, ${r.bombs} bombs`,
      )
      results.push(r)
    }
    rows.push({
      figure: '/health p99 while memory bombs kill sandbox processes',
      value: median(results.map((r) => r.p99)),
      unit: 'ms',
      target: { op: '<=', value: HEALTH_P99_TARGET_MS },
      samples: results.map((r) => r.p99),
      notes: `${results.map((r) => r.bombs).join('/')} bombs a rep, each a sandbox process killed at 512 MB; max ${Math.max(...results.map((r) => r.max)).toFixed(1)} ms`,
      how: 'GET /health one request at a time every 5 ms while typed-array bomb runs follow one another',
    })
    return rows
  } catch (error) {
    error.message += `\n--- server output ---\n${server.tail()}`
    throw error
  } finally {
    closeAgent()
    await server.close()
    await db.remove()
  }
}

await runIfMain(import.meta.url, sandboxBench)
