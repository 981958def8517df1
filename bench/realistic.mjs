// Figure 16 — a webhook that looks like real use, against what the machine allows without the
// engine. `piecework serve` on a SQLite file answers POST /hooks/orders once a run of 5 data.set
// steps completes, each merging a field into its input with an expression. Two node:http processes
// answer the same request with the same body: "JSON work" (the same merges in plain JS) and the
// "durable limit" (the same, once the rows of a run are committed to SQLite by group commit). All
// three at 32 connections (runs/s, p99) and at 1 (p50), every answer checked; the rows that hold
// piecework to a target compare it with the durable limit, measured in the same repetition.
import { startBaseline } from './lib/baseline-server.mjs'
import { sqliteFile, withDatabase } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { closeAgent, request } from './lib/http.mjs'
import { loadTest } from './lib/load.mjs'
import { Server } from './lib/server.mjs'
import { median, percentile } from './lib/stats.mjs'
import { realisticAnswer, realisticWebhook } from './lib/workflows.mjs'

const CONNECTIONS = 32
/** piecework's runs/s as a share of the durable limit's: at least this. */
const SHARE_TARGET_PERCENT = 30
const P99_TARGET_MS = 25
/** piecework's p50 at one connection as a multiple of the durable limit's: at most this. */
const P50_RATIO_TARGET = 2
const PATH = '/hooks/orders'
const LOAD_ORDER = 42

/** 32 connections for `seconds`, every answer checked against the body of order 42. */
function load(target, seconds) {
  return loadTest({
    url: `${target.url}${PATH}`,
    connections: CONNECTIONS,
    durationSeconds: seconds,
    body: { order: LOAD_ORDER },
    expectBody: JSON.stringify(realisticAnswer(LOAD_ORDER)),
  })
}

/** Requests of one server at a time in a block: `count` in all, to each server in turn. */
const BLOCK = 20

/**
 * `count` requests one at a time to each server, each with an order of its own and its own answer
 * checked: BLOCK to one server, then BLOCK to the next, and round again, so that a drift of the
 * machine's speed within the repetition weighs on every server alike.
 */
async function sequential(targets, count) {
  const runs = targets.map(() => ({ times: [], bad: 0 }))
  for (let from = 0; from < count; from += BLOCK) {
    for (const [t, target] of targets.entries()) {
      for (let i = from; i < Math.min(count, from + BLOCK); i++) {
        const res = await request(`${target.url}${PATH}`, { method: 'POST', json: { order: i } })
        if (res.status !== 200 || res.text !== JSON.stringify(realisticAnswer(i))) runs[t].bad++
        runs[t].times.push(res.ms)
      }
    }
  }
  return runs.map(({ times, bad }) => ({ count, p50: median(times), p99: percentile(times, 99), bad }))
}

/** Runs per commit of the durable limit between two of its `stats()`. */
const runsPerCommit = (before, after) =>
  (after.runs - before.runs) / Math.max(1, after.commits - before.commits)

/**
 * Answers that were not a 200 with the expected body, of a load (a non-2xx answer is a wrong body
 * too; the load generator counts timeouts among errors) or of requests one at a time.
 */
const wrong = (r) => (r.bad ?? 0) + (r.mismatches ?? 0) + (r.errors ?? 0)

/** A server's wrong answers over the whole bench, its warm-up included. */
const wrongAnswers = (r) => [...r.warm, ...r.loads, ...r.singles].reduce((n, x) => n + wrong(x), 0)

/**
 * Each repetition loads the three servers one after the other, then times them one request at a
 * time, in turns of BLOCK requests: a drift of the machine's speed weighs on the three alike, and
 * each ratio pairs figures of the same repetition.
 */
async function measureAll(targets, { quick, reps }) {
  const seconds = quick ? 2 : 10
  const count = quick ? 60 : 600
  const results = new Map(targets.map((t) => [t.key, { warm: [], loads: [], singles: [] }]))
  // warm-up: workers, JIT, statements (quick mode saves the load generator's start-up)
  if (quick)
    for (const [t, r] of (await sequential(targets, 40)).entries()) results.get(targets[t].key).warm.push(r)
  else for (const target of targets) results.get(target.key).warm.push(await load(target, 1))
  for (let rep = 0; rep < reps; rep++) {
    for (const target of targets) {
      const before = await target.stats?.()
      const r = await load(target, seconds)
      if (before) r.runsPerCommit = runsPerCommit(before, await target.stats())
      results.get(target.key).loads.push(r)
      log(
        `${target.label} rep ${rep + 1}/${reps}, ${CONNECTIONS} conns: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}, wrong bodies ${r.mismatches}${r.runsPerCommit ? `, ${r.runsPerCommit.toFixed(1)} runs a commit` : ''}`,
      )
    }
    // the load has warmed the rest
    const warm = await sequential(targets, BLOCK)
    const singles = await sequential(targets, count)
    for (const [t, target] of targets.entries()) {
      const r = singles[t]
      results.get(target.key).warm.push(warm[t])
      results.get(target.key).singles.push(r)
      log(
        `${target.label} rep ${rep + 1}/${reps}, 1 conn: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, bad answers ${r.bad}`,
      )
    }
  }
  return results
}

/** The runs/s and p99 rows of one server at 32 connections. */
function loadRows(r, name, p99Target, seconds) {
  const perCommit = r.loads[0].runsPerCommit
  return [
    {
      figure: `realistic webhook runs/s (${CONNECTIONS} conns, ${name})`,
      value: median(r.loads.map((l) => l.rps)),
      unit: 'req/s',
      target: null,
      samples: r.loads.map((l) => l.rps),
      notes: `${seconds} s a rep; ${r.loads.reduce((n, l) => n + l.requests, 0).toLocaleString('en-US')} answers checked${perCommit ? `; ${median(r.loads.map((l) => l.runsPerCommit)).toFixed(1)} runs a commit` : ''}`,
      how: `answers / seconds as the load generator counts them (${CONNECTIONS} connections, a process of its own); a run per answer`,
      extra: r.loads,
    },
    {
      figure: `realistic webhook p99 (${CONNECTIONS} conns, ${name})`,
      value: median(r.loads.map((l) => l.p99)),
      unit: 'ms',
      target: p99Target,
      samples: r.loads.map((l) => l.p99),
      notes: `p50 ${median(r.loads.map((l) => l.p50))} ms, max ${Math.max(...r.loads.map((l) => l.max))} ms`,
      how: `the load generator's latency histogram, under the same load of ${CONNECTIONS} connections`,
    },
  ]
}

/** The p50 row of one server at one connection. */
function singleRow(r, name) {
  return {
    figure: `realistic webhook p50 (1 conn, ${name})`,
    value: median(r.singles.map((s) => s.p50)),
    unit: 'ms',
    target: null,
    samples: r.singles.map((s) => s.p50),
    notes: `${r.singles[0].count} sequential requests a rep, in turns of ${BLOCK} with the other servers; p99 ${median(r.singles.map((s) => s.p99)).toFixed(1)} ms`,
    how: `client-side time of each request (node:http, keep-alive), one at a time, each with an order of its own and its answer checked; the three servers in turns of ${BLOCK} requests`,
    extra: r.singles,
  }
}

function rows(results, { quick }) {
  const piecework = results.get('piecework')
  const durable = results.get('durable')
  const json = results.get('json')
  const rps = (r) => median(r.loads.map((l) => l.rps)).toFixed(0)
  const p50 = (r) => median(r.singles.map((s) => s.p50)).toFixed(2)
  const shares = piecework.loads.map((l, i) => (100 * l.rps) / durable.loads[i].rps)
  const p50Ratios = piecework.singles.map((s, i) => s.p50 / durable.singles[i].p50)
  const answers = [...piecework.warm, ...piecework.loads, ...piecework.singles].reduce(
    (n, x) => n + (x.requests ?? x.count),
    0,
  )
  const seconds = quick ? 2 : 10
  return [
    {
      figure: `realistic webhook runs/s as a share of the durable limit (${CONNECTIONS} conns, SQLite)`,
      value: median(shares),
      unit: '%',
      target: { op: '>=', value: SHARE_TARGET_PERCENT },
      samples: shares,
      notes: `piecework ${rps(piecework)}, durable limit ${rps(durable)}, JSON work ${rps(json)} req/s`,
      how: "piecework's runs/s over the durable limit's in the same repetition: a node:http process that does the same merges in plain JS and commits the rows of a run (the run, 5 steps, its end) to a SQLite file (WAL, synchronous = NORMAL) by group commit before it answers",
    },
    ...loadRows(piecework, 'piecework, SQLite', { op: '<=', value: P99_TARGET_MS }, seconds),
    singleRow(piecework, 'piecework, SQLite'),
    {
      figure: 'realistic webhook p50 as a multiple of the durable limit (1 conn, SQLite)',
      value: median(p50Ratios),
      unit: '×',
      target: { op: '<=', value: P50_RATIO_TARGET },
      samples: p50Ratios,
      notes: `piecework ${p50(piecework)} ms, durable limit ${p50(durable)} ms, JSON work ${p50(json)} ms`,
      how: "piecework's p50 at one connection over the durable limit's, in the same repetition",
    },
    ...loadRows(durable, 'durable limit', null, seconds),
    singleRow(durable, 'durable limit'),
    ...loadRows(json, 'JSON work', null, seconds),
    singleRow(json, 'JSON work'),
    {
      figure: 'realistic webhook wrong answers (all three servers)',
      value: wrongAnswers(piecework) + wrongAnswers(durable) + wrongAnswers(json),
      unit: '',
      target: { op: '<=', value: 0 },
      notes: `not a 200 with the expected body: piecework ${wrongAnswers(piecework)} of ${answers.toLocaleString('en-US')}, durable limit ${wrongAnswers(durable)}, JSON work ${wrongAnswers(json)}`,
    },
  ]
}

export async function realistic(options) {
  const limitFile = sqliteFile()
  try {
    return await withDatabase('sqlite', async (db) => {
      const server = new Server({ databaseUrl: db.url, workflows: [realisticWebhook()], name: 'realistic' })
      const baselines = []
      try {
        await server.start()
        baselines.push(await startBaseline('json'))
        baselines.push(await startBaseline('durable', limitFile.file))
        const [json, durable] = baselines
        const targets = [
          { key: 'piecework', label: 'piecework', url: server.url },
          { key: 'durable', label: 'durable limit', url: durable.url, stats: durable.stats },
          { key: 'json', label: 'JSON work', url: json.url },
        ]
        return rows(await measureAll(targets, options), options)
      } catch (error) {
        error.message += `\n--- server output ---\n${server.tail()}`
        throw error
      } finally {
        for (const baseline of baselines) await baseline.close()
        await server.close()
        closeAgent()
      }
    })
  } finally {
    await limitFile.remove()
  }
}

await runIfMain(import.meta.url, realistic)
