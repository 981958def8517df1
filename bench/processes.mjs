// Figure 11 — several `piecework serve` processes on one PostgreSQL database: the webhook chain of
// figure 3 (5 data.set steps, answered once the run completes), 32 connections in all shared
// between 1, 2 and 3 processes, every answer checked. On a 2-core machine this cannot scale: the
// row records what one database and two cores give, as a ratio to one process.

import { postgresAvailable, postgresDatabase } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { closeAgent, request } from './lib/http.mjs'
import { loadTest } from './lib/load.mjs'
import { Server } from './lib/server.mjs'
import { median } from './lib/stats.mjs'
import { WEBHOOK_ANSWER, webhookChain } from './lib/workflows.mjs'

const CONNECTIONS = 32

async function measure(processes, { quick, reps }) {
  const db = await postgresDatabase()
  const servers = Array.from(
    { length: processes },
    (_, i) =>
      new Server({ databaseUrl: db.url, workflows: [webhookChain()], name: `processes-${processes}-${i}` }),
  )
  try {
    // one after another: the first deploys the workflow, the others find it unchanged
    for (const server of servers) await server.start()
    for (const server of servers)
      for (let i = 0; i < 30; i++) await request(`${server.url}/hooks/bench`, { method: 'POST', json: {} })
    const results = []
    for (let rep = 0; rep < reps; rep++) {
      await db.maintain()
      const loads = await Promise.all(
        servers.map((server, i) =>
          loadTest({
            url: `${server.url}/hooks/bench`,
            connections: Math.floor(CONNECTIONS / processes) + (i < CONNECTIONS % processes ? 1 : 0),
            durationSeconds: quick ? 2 : 8,
            body: { order: 42 },
            expectBody: JSON.stringify(WEBHOOK_ANSWER),
          }),
        ),
      )
      const rps = loads.reduce((n, r) => n + r.rps, 0)
      const wrong = loads.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts + r.mismatches, 0)
      if (wrong > 0) throw new Error(`${wrong} answers were not the run's output`)
      log(`${processes} process(es) rep ${rep + 1}/${reps}: ${rps.toFixed(0)} runs/s, every answer checked`)
      results.push(rps)
    }
    return median(results)
  } finally {
    for (const server of servers) await server.close()
    await db.remove().catch(() => {})
  }
}

export async function processesBench(options) {
  if (!(await postgresAvailable()))
    return [
      {
        figure: 'webhook runs/s by processes on one PostgreSQL',
        value: null,
        unit: '',
        target: null,
        skipped: 'PostgreSQL does not answer',
      },
    ]
  const rows = []
  let one
  for (const processes of [1, 2, 3]) {
    const rps = await measure(processes, options)
    one ??= rps
    rows.push({
      figure: `webhook runs/s, ${processes} process${processes === 1 ? '' : 'es'} on one PostgreSQL`,
      value: rps,
      unit: '/s',
      target: null,
      notes: `${(rps / one).toFixed(2)}× one process; ${CONNECTIONS} connections shared between them`,
      how: 'POST /hooks/bench (5 data.set steps, answered on completion) from one load generator per process',
    })
  }
  closeAgent()
  return rows
}

await runIfMain(import.meta.url, processesBench)
