// Figure 3 — webhook runs per second: `piecework serve` in a child process, POST /hooks/bench →
// 5 data.set steps → the answer once the run completes; autocannon drives 32 connections from a
// third process. Every answer is checked: its status and its body.
import { LABEL } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { request } from './lib/http.mjs'
import { loadTest } from './lib/load.mjs'
import { median } from './lib/stats.mjs'
import { webhookBench } from './lib/webhook-server.mjs'
import { WEBHOOK_ANSWER } from './lib/workflows.mjs'

const CONNECTIONS = 32
const TARGET = { sqlite: 2_500, postgres: 1_000 }
const P99_TARGET_MS = 50

/** How many answers had each status, over every repetition. */
function statusCounts(results) {
  const all = {}
  for (const r of results)
    for (const [status, n] of Object.entries(r.statuses)) all[status] = (all[status] ?? 0) + n
  return all
}

/** Figure 3 rows for a server that serves the webhook chain on /hooks/bench. */
export async function measureThroughput(server, kind, { quick, reps }, db) {
  const load = (durationSeconds) =>
    loadTest({
      url: `${server.url}/hooks/bench`,
      connections: CONNECTIONS,
      durationSeconds,
      body: { order: 42 },
      expectBody: JSON.stringify(WEBHOOK_ANSWER),
    })
  // warm-up: workers, JIT, connection pool (quick mode saves the load generator's start-up)
  if (quick)
    for (let i = 0; i < 30; i++) await request(`${server.url}/hooks/bench`, { method: 'POST', json: {} })
  else await load(1)
  const results = []
  let vacuumed = false
  for (let rep = 0; rep < reps; rep++) {
    vacuumed = (await db?.maintain()) || vacuumed
    const r = await load(quick ? 2 : 10)
    results.push(r)
    log(
      `${LABEL[kind]} rep ${rep + 1}/${reps}: ${r.requests} answers, ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts}, wrong bodies ${r.mismatches}`,
    )
  }
  const sum = (f) => results.reduce((n, r) => n + f(r), 0)
  const non2xx = sum((r) => r.non2xx)
  const errors = sum((r) => r.errors + r.timeouts)
  const mismatches = sum((r) => r.mismatches)
  return [
    {
      figure: `webhook runs/s (${CONNECTIONS} conns, ${LABEL[kind]})`,
      value: median(results.map((r) => r.rps)),
      unit: 'req/s',
      target: { op: '>=', value: TARGET[kind] },
      samples: results.map((r) => r.rps),
      notes: `${quick ? 2 : 10} s a rep; ${sum((r) => r.requests).toLocaleString('en-US')} answers checked: ${non2xx} non-2xx, ${errors} errors, ${mismatches} wrong bodies${vacuumed ? '; autovacuum is off: VACUUM before each rep' : ''}`,
      how: 'answers / seconds as autocannon counts them; a run (5 checkpointed steps) per answer',
      extra: results,
    },
    {
      figure: `webhook p99 under load (${LABEL[kind]})`,
      value: median(results.map((r) => r.p99)),
      unit: 'ms',
      target: { op: '<=', value: P99_TARGET_MS },
      samples: results.map((r) => r.p99),
      how: "autocannon's latency histogram, under the same load",
      notes: `p50 ${median(results.map((r) => r.p50))} ms, max ${Math.max(...results.map((r) => r.max))} ms`,
    },
    {
      figure: `webhook non-2xx answers (${LABEL[kind]})`,
      value: non2xx,
      unit: '',
      target: { op: '<=', value: 0 },
      samples: results.map((r) => r.non2xx),
      notes: `statuses ${JSON.stringify(statusCounts(results))}; ${errors} socket errors/timeouts; ${mismatches} wrong bodies`,
    },
  ]
}

export async function webhookThroughput(options) {
  return webhookBench((server, kind, db) => measureThroughput(server, kind, options, db))
}

await runIfMain(import.meta.url, webhookThroughput)
