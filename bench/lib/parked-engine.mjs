// The child process of figures 6 and 13: an engine that parks `count` runs on a 1 h flow.delay (or
// on a flow.wait for a signal that never comes), and reports its memory (after gc) when idle and
// again once every run is parked. Forked with --expose-gc; answers over IPC.
import { Engine } from '../../dist/src/runtime/engine.js'
import { answerParent, memoryAfterGc as settle } from './child.mjs'
import { sqliteFile } from './db.mjs'
import { until } from './stats.mjs'
import { parkedWorkflow, signalWorkflow } from './workflows.mjs'

const BATCH = 100
/**
 * Warm-up runs, in batches as the parked ones start: 1,000 runs that end bring the engine to its
 * working size (V8 grows its heap under the first thousands of runs and keeps it: 30 → 47 MB
 * reserved here with under 1 MB more in use), so that the parked runs are not charged with it.
 */
const WARM_BATCHES = 10

/** The parked workflow and a warm-up run of the same shape that ends soon after it starts. */
const SHAPES = {
  delay: {
    deploy: (engine) =>
      Promise.all([
        engine.deploy(parkedWorkflow('parked', '1h')),
        engine.deploy(parkedWorkflow('warm', '5ms')),
      ]),
    warm: (engine, id) => engine.getRun(id, 60_000),
  },
  signal: {
    deploy: (engine) =>
      Promise.all([engine.deploy(signalWorkflow('parked')), engine.deploy(signalWorkflow('warm'))]),
    warm: async (engine, id) => {
      await engine.signal(id, 'go', { warm: true })
      return engine.getRun(id, 60_000)
    },
  },
}

async function main({ count, settleMs, waitFor = 'delay' }) {
  const shape = SHAPES[waitFor]
  const db = sqliteFile()
  const engine = await Engine.open({ databaseUrl: db.url })
  try {
    await engine.start()
    await shape.deploy(engine)
    let parked = 0
    engine.events.on('step', (_runId, step) => {
      if (step.id === 'wait' && step.status === 'waiting') parked++
    })
    // warm-up: every piece the parked runs use has run in every worker, the writer is warm, and
    // the heap has grown to its working size
    for (let b = 0; b < WARM_BATCHES; b++) {
      const warm = await Promise.all(Array.from({ length: BATCH }, () => engine.startRun('warm', {})))
      await Promise.all(warm.map(({ id }) => shape.warm(engine, id)))
    }
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
      // passivation: runs that only wait (an hour, or for a signal) leave memory
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

answerParent(main)
