// The child process of figure 6: an engine that parks `count` runs on a 1 h flow.delay, and reports
// its memory (after gc) when idle and again once every run is parked. Forked with --expose-gc;
// answers over IPC.
import { Engine } from '../../dist/src/runtime/engine.js'
import { sqliteFile } from './db.mjs'
import { sleep, until } from './stats.mjs'
import { parkedWorkflow } from './workflows.mjs'

const BATCH = 100

async function settle(ms) {
  await sleep(ms)
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await sleep(50)
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
  return { rss, heapUsed, heapTotal, external, arrayBuffers }
}

async function main({ count, settleMs }) {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc')
  const db = sqliteFile()
  const engine = await Engine.open({ databaseUrl: db.url })
  try {
    await engine.start()
    await engine.deploy(parkedWorkflow('parked', '1h'))
    await engine.deploy(parkedWorkflow('warm', '5ms'))
    let parked = 0
    engine.events.on('step', (_runId, step) => {
      if (step.id === 'wait' && step.status === 'waiting') parked++
    })
    // warm-up: every piece the parked runs use has run in every worker, and the writer is warm
    const warm = await Promise.all(Array.from({ length: BATCH }, () => engine.startRun('warm', {})))
    await Promise.all(warm.map(({ id }) => engine.getRun(id, 60_000)))
    const idle = await settle(settleMs)
    const activeBefore = engine.activeRuns

    let parkMs = 0
    const park = async (from, to) => {
      const started = Date.now()
      for (let i = from; i < to; i += BATCH) {
        const n = Math.min(BATCH, to - i)
        await Promise.all(Array.from({ length: n }, (_, k) => engine.startRun('parked', { n: i + k })))
        await until(() => parked >= i + n, { what: 'a batch of runs to park', everyMs: 5 })
      }
      parkMs += Date.now() - started
      // passivation: runs that only wait an hour leave memory
      await until(() => engine.activeRuns === 0, { what: 'parked runs to be passivated', timeoutMs: 60_000 })
    }
    parked = 0
    // half, measured, then the other half: the second half's growth is free of one-time growth
    // (worker heaps, caches) that the first half pays
    const half = Math.floor(count / 2)
    await park(0, half)
    const halfway = await settle(settleMs)
    await park(half, count)
    const loaded = await settle(settleMs)
    const waiting = await engine.db
      .knex('runs')
      .where({ status: 'waiting', workflow_id: 'parked' })
      .count({ n: '*' })
    return {
      count,
      idle,
      halfway,
      loaded,
      parkMs,
      activeBefore,
      activeAfter: engine.activeRuns,
      waitingRows: Number(waiting[0].n),
    }
  } finally {
    await engine.close()
    await db.remove()
  }
}

process.once('message', async (options) => {
  try {
    process.send({ result: await main(options) }, () => process.exit(0))
  } catch (error) {
    process.send({ error: error.stack ?? String(error) }, () => process.exit(1))
  }
})
