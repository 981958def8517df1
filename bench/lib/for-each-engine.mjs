// The child process of figure 12: an engine on the database it is given runs one forEach of `items`
// data.set items after a smaller warm-up loop, and reports the run's wall time with its RSS: after gc
// before it, at its peak during it, and after gc after it. Forked with --expose-gc; answers over IPC.
import { Engine } from '../../dist/src/runtime/engine.js'
import { answerParent, memoryAfterGc, peakRss, resetPeakRss } from './child.mjs'
import { now } from './stats.mjs'
import { forEachWorkflow } from './workflows.mjs'

async function timeRun(engine, items) {
  const xs = Array.from({ length: items }, (_, i) => i)
  const started = now()
  const { id } = await engine.startRun('for-each', { xs })
  const run = await engine.getRun(id, 2 ** 31 - 1)
  const ms = now() - started
  if (run.status !== 'succeeded' || run.output?.count !== items || run.output.last !== (items - 1) * 2)
    throw new Error(`run ${id} ended ${run.status} with ${JSON.stringify(run.output ?? run.error)}`)
  return ms
}

async function main({ databaseUrl, items, warmItems }) {
  const engine = await Engine.open({ databaseUrl })
  try {
    await engine.start()
    await engine.deploy(forEachWorkflow('for-each'))
    // warm-up: workers, JIT, the writer, the statements of the item rows
    await timeRun(engine, warmItems)
    const before = await memoryAfterGc(200)
    const peakReset = resetPeakRss()
    const ms = await timeRun(engine, items)
    const peak = peakRss()
    const after = await memoryAfterGc(200)
    return { ms, before, peak: peakReset ? peak : undefined, after }
  } finally {
    await engine.close()
  }
}

answerParent(main)
