// Figure 14 — signals delivered to waiting runs: `piecework serve` in a child process parks runs on
// a flow.wait (no timeout) until every one has left memory, then this process sends each its signal
// over HTTP (POST /api/v1/runs/:id/signals/go, 32 at a time). Each 202 comes once the signal is
// stored; the run is then brought back from the database, takes it and ends. Every run is checked
// to have ended with the data of its own signal.
import { openDatabase } from '../dist/src/store/orm.js'
import { LABEL, postgresInFullMode, withDatabase } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { closeAgent, inLanes, request } from './lib/http.mjs'
import { Server } from './lib/server.mjs'
import { median, now, percentile, until } from './lib/stats.mjs'
import { signalWorkflow } from './lib/workflows.mjs'

const WORKFLOW = 'await'
const LANES = 32
const TARGET = { sqlite: 2_000 }
const P99_TARGET = { sqlite: 50 }

async function post(url, json, status) {
  const res = await request(url, { method: 'POST', json })
  if (res.status !== status) throw new Error(`POST ${url} answered ${res.status}: ${res.text}`)
  return res
}

/** Runs by status, and the ids of this workflow's succeeded runs whose output is not `expected(id)`. */
async function census(knex, ids) {
  const rows = await knex('runs').select('id', 'status', 'output', 'error').where({ workflow_id: WORKFLOW })
  const byId = new Map(rows.map((r) => [r.id, r]))
  const counts = { succeeded: 0, waiting: 0, other: 0, wrong: 0, examples: [] }
  for (const [i, id] of ids.entries()) {
    const row = byId.get(id)
    if (row?.status === 'succeeded') {
      counts.succeeded++
      if (JSON.parse(row.output)?.woke?.n !== i) counts.wrong++
    } else if (row?.status === 'waiting') counts.waiting++
    else {
      counts.other++
      if (counts.examples.length < 3) counts.examples.push({ id, status: row?.status, error: row?.error })
    }
  }
  return counts
}

/** How many runs of the workflow are in one of these statuses. */
async function countRuns(knex, statuses) {
  const [{ n }] = await knex('runs')
    .where({ workflow_id: WORKFLOW })
    .whereIn('status', statuses)
    .count({ n: '*' })
  return Number(n)
}

/** Parks `count` runs and resolves with their ids once every one waits in the database, out of memory. */
async function park(server, knex, count, inMemory = false) {
  const started = now()
  const ids = await inLanes(count, LANES, async () => {
    const res = await post(`${server.url}/api/v1/workflows/${WORKFLOW}/runs`, { input: {} }, 202)
    return res.body.id
  })
  const parkMs = now() - started
  await until(
    async () =>
      (inMemory || (await server.metric('piecework_runs_in_memory')) === 0) &&
      (await countRuns(knex, ['waiting'])) === count,
    { what: 'every parked run to wait (out of memory, unless inMemory)', everyMs: 100, timeoutMs: 60_000 },
  )
  return { ids, parkMs }
}

/** One signal to each run; the rate, the latencies, and what the runs did with them. */
async function deliver(server, knex, ids) {
  const started = now()
  const answers = await inLanes(ids.length, LANES, (i) =>
    post(`${server.url}/api/v1/runs/${ids[i]}/signals/go`, { data: { n: i } }, 202),
  )
  const seconds = (now() - started) / 1000
  const latencies = answers.map((a) => a.ms)
  const notTaken = answers.filter((a) => a.body?.taken !== 'wait').length
  // a run that never ends shows as lost below, not as a timeout
  await until(async () => (await countRuns(knex, ['queued', 'running', 'waiting'])) === 0, {
    what: 'every signalled run to end',
    everyMs: 50,
    timeoutMs: 120_000,
  }).catch(() => {})
  const endedSeconds = (now() - started) / 1000
  const ended = await census(knex, ids)
  return {
    rate: ids.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    notTaken,
    lost: ids.length - ended.succeeded + ended.wrong,
    ended,
    endedSeconds,
  }
}

/**
 * `inMemory`: the runs are signalled while they still wait in memory (`runs.passivateAfter` is
 * long), as an answer that comes soon after its question is; else once every one has left memory.
 */
async function measure(kind, { quick, reps }, inMemory = false) {
  const count = quick ? 1_000 : 10_000
  const where = inMemory ? 'waiting in memory' : 'passivated'
  return withDatabase(kind, async (db) => {
    const server = new Server({
      databaseUrl: db.url,
      workflows: [signalWorkflow(WORKFLOW)],
      name: `signals-${kind}${inMemory ? '-in-memory' : ''}`,
      env: inMemory ? { PIECEWORK_RUNS_PASSIVATE_AFTER: '10m' } : {},
    })
    const store = await openDatabase(db.url, { migrate: false })
    const results = []
    let vacuumed = false
    try {
      await server.start()
      // warm-up: the same path on a few runs (workers, JIT, the server's and the client's sockets)
      const warm = await park(server, store.knex, 200, inMemory)
      await deliver(server, store.knex, warm.ids)
      for (let rep = 0; rep < reps; rep++) {
        const { ids, parkMs } = await park(server, store.knex, count, inMemory)
        vacuumed = (await db.maintain()) || vacuumed
        const r = await deliver(server, store.knex, ids)
        results.push({ ...r, parkMs })
        log(
          `${LABEL[kind]}, ${where}, rep ${rep + 1}/${reps}: ${count} runs parked in ${(parkMs / 1000).toFixed(1)} s; signals ${r.rate.toFixed(0)}/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(0)} ms; every run ended ${r.endedSeconds.toFixed(1)} s after the first signal; not taken at once ${r.notTaken}; lost ${r.lost} (${JSON.stringify(r.ended)})`,
        )
      }
    } catch (error) {
      error.message += `\n--- server output ---\n${server.tail()}`
      throw error
    } finally {
      await store.close()
      await server.close()
    }
    const mid = (f) => median(results.map(f))
    const lost = results.reduce((n, r) => n + r.lost, 0)
    return [
      {
        figure: `signals/s to flow.wait runs ${where} (HTTP, ${LANES} at a time, ${LABEL[kind]})`,
        value: mid((r) => r.rate),
        unit: '/s',
        target: kind in TARGET ? { op: '>=', value: TARGET[kind] } : null,
        samples: results.map((r) => r.rate),
        notes: `${count.toLocaleString('en-US')} runs a rep, each ${inMemory ? 'in memory' : 'out of memory'} when signalled (the same server started them at ${mid((r) => count / (r.parkMs / 1000)).toFixed(0)}/s); p50 ${mid((r) => r.p50).toFixed(1)} ms; all ended ${mid((r) => r.endedSeconds).toFixed(1)} s after the first signal (${(count / mid((r) => r.endedSeconds)).toFixed(0)} runs/s resumed and finished); ${lost} lost or wrong, ${results.reduce((n, r) => n + r.notTaken, 0)} answered other than taken by the waiting step${vacuumed ? '; autovacuum is off: VACUUM before each rep' : ''}`,
        how: inMemory
          ? 'signals / seconds from the first POST to the last 202; runs.passivateAfter 10m, so every run still waits in memory'
          : 'signals / seconds from the first POST to the last 202; every run out of memory (piecework_runs_in_memory 0) before the first signal',
        extra: results,
      },
      {
        figure: `signal p99, 202 after stored, runs ${where} (${LABEL[kind]})`,
        value: mid((r) => r.p99),
        unit: 'ms',
        target: kind in P99_TARGET ? { op: '<=', value: P99_TARGET[kind] } : null,
        samples: results.map((r) => r.p99),
        notes: `max ${Math.max(...results.map((r) => r.max)).toFixed(0)} ms`,
        how: 'each POST from sending to the last byte of its 202, over the same load',
      },
      {
        figure: `signalled runs lost, runs ${where} (${LABEL[kind]})`,
        value: lost,
        unit: '',
        target: { op: '<=', value: 0 },
        samples: results.map((r) => r.lost),
        how: 'runs that were signalled (202) but did not succeed with the data of their own signal',
      },
    ]
  })
}

export async function signals(options) {
  const rows = [...(await measure('sqlite', options, true)), ...(await measure('sqlite', options))]
  rows.push(
    ...(await postgresInFullMode(options, 'signals to passivated flow.wait runs', () =>
      measure('postgres', options),
    )),
  )
  closeAgent()
  return rows
}

await runIfMain(import.meta.url, signals)
