// Figure 10 — what pruning ended runs (runs.retention) costs the engine: webhook runs per second
// (the chain of figure 3) on one server while its pruner works through a backlog of old runs,
// against the same server, just before and just after, while its passes find nothing to prune.
// The backlog (succeeded runs that ended two days ago) is written by the bench before each load
// with pruning, which starts once the first batch has gone.
import { openDatabase } from '../dist/src/store/orm.js'
import { benchDatabases, LABEL, withDatabase } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { closeAgent } from './lib/http.mjs'
import { loadTest } from './lib/load.mjs'
import { Server } from './lib/server.mjs'
import { median, sleep } from './lib/stats.mjs'
import { WEBHOOK_ANSWER, webhookChain } from './lib/workflows.mjs'

const CONNECTIONS = 32
/** Throughput with pruning under way, as a share of the throughput without: at least this. */
const TARGET_PERCENT = 90
const WORKFLOW = 'bench-hook'
const RETENTION = {
  PIECEWORK_RUNS_RETENTION_SUCCEEDED_MAX_AGE: '1h',
  PIECEWORK_RUNS_RETENTION_INTERVAL: '1s',
}

/**
 * `n` succeeded runs of the webhook chain that ended two days ago, with their 5 step rows and a
 * log line each, written by the database itself (a recursive series) through a connection of the
 * bench's own, between two loads.
 */
async function seedBacklog(url, n, tag) {
  const db = await openDatabase(url, { migrate: false })
  const at = Date.now() - 2 * 86_400_000
  const series = 'with recursive g(n) as (select 1 union all select n + 1 from g where n < ?)'
  const id = `'old-${tag}-' || n`
  try {
    await db.knex.raw(
      `${series} insert into runs (id, workflow_id, workflow_version, status, input, output, created_at, started_at, finished_at)
       select ${id}, ?, 1, 'succeeded', '{"order":42}', '{"ok":true,"steps":5}', ?, ?, ? from g`,
      [n, WORKFLOW, at, at, at],
    )
    await db.knex.raw(
      `${series}, s(step) as (select 's1' union all select 's2' union all select 's3' union all select 's4' union all select 's5')
       insert into step_states (run_id, step_id, status, attempts, interruptions, handle, output, started_at, finished_at)
       select ${id}, step, 'succeeded', 1, 0, 'out', '{"i":1}', ?, ? from g, s`,
      [n, at, at],
    )
    await db.knex.raw(
      `${series} insert into run_logs (run_id, step_id, ts, level, msg) select ${id}, 's1', ?, 'info', 'done' from g`,
      [n, at],
    )
  } finally {
    await db.close()
  }
}

/** A series of /metrics (reading them also starts the event-loop lag figures afresh). */
const metric = (server, pattern) => server.metric(pattern)

/** piecework_runs_pruned_total{status="succeeded"}. */
const prunedSoFar = (server) => metric(server, 'piecework_runs_pruned_total\\{status="succeeded"\\}')

/** The webhook load, with the runs pruned meanwhile. */
async function load(server, kind, seconds, label) {
  const before = await prunedSoFar(server)
  const result = await loadTest({
    url: `${server.url}/hooks/bench`,
    connections: CONNECTIONS,
    durationSeconds: seconds,
    body: { order: 42 },
    expectBody: JSON.stringify(WEBHOOK_ANSWER),
  })
  // the server's event loop over the load: what a batch on SQLite holds it for shows here
  result.lagP99 = 1000 * (await metric(server, 'piecework_process_nodejs_eventloop_lag_p99_seconds'))
  result.pruned = (await prunedSoFar(server)) - before
  result.failures = result.non2xx + result.errors + result.timeouts + result.mismatches
  log(
    `${LABEL[kind]} ${label}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, event-loop lag p99 ${result.lagP99.toFixed(1)} ms, ${result.pruned} runs pruned meanwhile, ${result.failures} failures${result.failures ? ` (statuses ${JSON.stringify(result.statuses)}, ${result.errors} errors, ${result.timeouts} timeouts, ${result.mismatches} wrong bodies)` : ''}`,
  )
  return result
}

/** Resolves once the pruned count has moved past `moved`, or without it, once it has not moved for `quietMs` (the backlog is gone). */
async function prunedSettles(server, { moved, quietMs = 3_000, timeoutMs = 120_000 }) {
  const deadline = Date.now() + timeoutMs
  let last = await prunedSoFar(server)
  let since = Date.now()
  while (Date.now() < deadline) {
    await sleep(50)
    const count = await prunedSoFar(server)
    if (moved !== undefined && count > moved) return
    if (count !== last) [last, since] = [count, Date.now()]
    else if (moved === undefined && Date.now() - since >= quietMs) return
  }
}

async function measure(kind, { quick, reps }) {
  const seconds = quick ? 2 : 10
  // more than the pruner gets through during the load: it works all through it
  const backlog = quick ? 4_000 : 15_000
  return withDatabase(kind, async (db) => {
    const server = new Server({
      databaseUrl: db.url,
      workflows: [webhookChain()],
      env: RETENTION,
      name: `retention-${kind}`,
    })
    const off = []
    const on = []
    try {
      await server.start()
      // warm-up under load (workers, JIT, connection pool): else the first repetition, always
      // the one without pruning, runs colder than the rest
      await load(server, kind, 1, 'warm-up')
      const quiet = async (label) => {
        await db.maintain()
        off.push(await load(server, kind, seconds, label))
      }
      // A B A B … A: each load with pruning between two without, which cancels a drift of the
      // machine's speed (warming up, other processes) that alternation alone would not
      await quiet('rep 1, nothing to prune')
      for (let rep = 0; rep < reps; rep++) {
        const before = await prunedSoFar(server)
        await seedBacklog(db.url, backlog, rep)
        await db.maintain()
        await prunedSettles(server, { moved: before })
        on.push(await load(server, kind, seconds, `rep ${rep + 1}, pruning a backlog`))
        // the rest of the backlog goes first; the pruner then passes every second, finding nothing
        await prunedSettles(server, {})
        await quiet(`rep ${rep + 1}, nothing to prune again`)
      }
    } catch (error) {
      error.message += `\n--- server output ---\n${server.tail()}`
      throw error
    } finally {
      await server.close()
    }
    const ratios = on.map((r, i) => (200 * r.rps) / (off[i].rps + off[i + 1].rps))
    const rps = (rs) => median(rs.map((r) => r.rps))
    const pruned = on.reduce((n, r) => n + r.pruned, 0)
    const failures = [...off, ...on].reduce((n, r) => n + r.failures, 0)
    return {
      figure: `webhook runs/s while pruning, vs not (${LABEL[kind]})`,
      value: median(ratios),
      unit: '%',
      target: { op: '>=', value: TARGET_PERCENT },
      samples: ratios,
      notes: `${rps(on).toFixed(0)} vs ${rps(off).toFixed(0)} req/s; p99 ${median(on.map((r) => r.p99))} vs ${median(off.map((r) => r.p99))} ms; event-loop lag p99 ${median(on.map((r) => r.lagP99)).toFixed(1)} vs ${median(off.map((r) => r.lagP99)).toFixed(1)} ms; ${pruned.toLocaleString('en-US')} runs pruned during the loads (${(pruned / (seconds * reps)).toFixed(0)}/s); ${failures} failed answers`,
      how: 'one server with runs.retention (succeeded: maxAge 1h, interval 1s): the webhook load while its passes work through a backlog of 2-day-old runs (5 steps each), against the mean of the loads just before and just after, while they find nothing',
      extra: { on, off },
    }
  })
}

export async function retention(options) {
  const rows = []
  for (const kind of await benchDatabases()) rows.push(await measure(kind, options))
  closeAgent()
  return rows
}

await runIfMain(import.meta.url, retention)
