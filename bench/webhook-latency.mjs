// Figure 4 — single-run latency: the webhook of figure 3 (5 data.set steps, answered on completion),
// one request at a time over a keep-alive connection; the p50 of the client-side times.
import { LABEL } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { request } from './lib/http.mjs'
import { median, percentile } from './lib/stats.mjs'
import { webhookBench } from './lib/webhook-server.mjs'
import { WEBHOOK_ANSWER } from './lib/workflows.mjs'

const P50_TARGET_MS = 2
const EXPECTED = JSON.stringify(WEBHOOK_ANSWER)

async function sequential(url, count) {
  const times = []
  let bad = 0
  for (let i = 0; i < count; i++) {
    const res = await request(url, { method: 'POST', json: { order: i } })
    if (res.status !== 200 || res.text !== EXPECTED) bad++
    times.push(res.ms)
  }
  return { p50: median(times), p99: percentile(times, 99), bad }
}

/** Figure 4 row for a server that serves the webhook chain on /hooks/bench. */
export async function measureLatency(server, kind, { quick, reps }) {
  const url = `${server.url}/hooks/bench`
  const count = quick ? 50 : 300
  await sequential(url, 10) // warm-up (the load before has warmed the rest)
  const results = []
  for (let rep = 0; rep < reps; rep++) {
    const r = await sequential(url, count)
    results.push(r)
    log(
      `${LABEL[kind]} rep ${rep + 1}/${reps}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, bad answers ${r.bad}`,
    )
  }
  return [
    {
      figure: `single-run webhook latency p50 (${LABEL[kind]})`,
      value: median(results.map((r) => r.p50)),
      unit: 'ms',
      target: { op: '<=', value: P50_TARGET_MS },
      samples: results.map((r) => r.p50),
      notes: `${count} sequential requests a rep; p99 ${median(results.map((r) => r.p99)).toFixed(1)} ms; ${results.reduce((n, r) => n + r.bad, 0)} bad answers`,
      how: 'client-side time of each request (node:http, keep-alive), one at a time, after warm-up',
      extra: results,
    },
  ]
}

export async function webhookLatency(options) {
  return webhookBench((server, kind) => measureLatency(server, kind, options))
}

await runIfMain(import.meta.url, webhookLatency)
