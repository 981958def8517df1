// Figure 15 — what a level of sub-workflows costs: a run that calls a workflow that calls a third
// (workflow.run, the parent step waiting for the child's end each time) against the same six
// data.set steps in one run, single runs one at a time, the two alternated, in process on a SQLite
// file (and PostgreSQL in full mode).
import { Engine } from '../dist/src/runtime/engine.js'
import { LABEL, postgresInFullMode, withDatabase } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { median, now } from './lib/stats.mjs'
import { subWorkflowChain } from './lib/workflows.mjs'

/** Child runs a chain run adds over the inline line: b and c. */
const LEVELS = 2
const TARGET_MS = 1

/** One run to its end: its latency, and how many supervisors the engine dropped meanwhile. */
async function timeRun(engine, workflowId, drops) {
  const dropsBefore = drops.count
  const started = now()
  const { id } = await engine.startRun(workflowId, { n: 0 })
  const run = await engine.getRun(id, 60_000)
  const ms = now() - started
  if (run.status !== 'succeeded' || run.output?.n !== 6)
    throw new Error(`run ${id} ended ${run.status} with ${JSON.stringify(run.output ?? run.error)}`)
  return { ms, dropped: drops.count > dropsBefore }
}

/** Alternated pairs a repetition: this many, or fewer when a repetition would last longer than budgetMs. */
const PAIRS = {
  quick: { most: 40, least: 3, budgetMs: 2_000 },
  full: { most: 150, least: 15, budgetMs: 15_000 },
}

const undisturbedText = (ms) => (Number.isNaN(ms) ? 'none without' : `the others ${ms.toFixed(2)} ms`)

async function measure(kind, { quick, reps }) {
  const pairs = PAIRS[quick ? 'quick' : 'full']
  return withDatabase(kind, async (db) => {
    const engine = await Engine.open({ databaseUrl: db.url })
    try {
      await engine.start()
      // a supervisor dropped (a lease lost) is taken up again by the next poll: that shows in the latency
      const drops = { count: 0, reasons: new Set() }
      engine.events.on('dropped', (_id, reason) => {
        drops.count++
        drops.reasons.add(reason)
      })
      const chain = subWorkflowChain('sub')
      for (const definition of chain.all) await engine.deploy(definition)
      for (let i = 0; i < 3; i++) {
        await timeRun(engine, chain.top.id, drops)
        await timeRun(engine, chain.inline.id, drops)
      }
      const results = []
      for (let rep = 0; rep < reps; rep++) {
        const nested = []
        const inline = []
        const repStarted = Date.now()
        for (let i = 0; i < pairs.most; i++) {
          if (i >= pairs.least && Date.now() - repStarted > pairs.budgetMs) break
          // which of the two goes first alternates too: neither always follows the other
          const order = i % 2 === 0 ? [nested, inline] : [inline, nested]
          for (const samples of order)
            samples.push(await timeRun(engine, samples === nested ? chain.top.id : chain.inline.id, drops))
        }
        const ms = (runs) => median(runs.map((r) => r.ms))
        const undisturbed = nested.filter((r) => !r.dropped)
        const r = {
          nestedMs: ms(nested),
          inlineMs: ms(inline),
          pairs: nested.length,
          droppedRuns: nested.length - undisturbed.length,
          undisturbedMs: undisturbed.length > 0 ? ms(undisturbed) : Number.NaN,
        }
        r.perLevelMs = (r.nestedMs - r.inlineMs) / LEVELS
        results.push(r)
        log(
          `${LABEL[kind]} rep ${rep + 1}/${reps}: 3 levels ${r.nestedMs.toFixed(2)} ms, inline ${r.inlineMs.toFixed(2)} ms (medians of ${nested.length}) → ${r.perLevelMs.toFixed(2)} ms a level; ${r.droppedRuns} chain runs had a supervisor dropped (${[...drops.reasons].join('; ') || 'none'}), ${undisturbedText(r.undisturbedMs)}`,
        )
      }
      const mid = (f) => median(results.map(f))
      return {
        figure: `a level of sub-workflow over the same steps inline (${LABEL[kind]})`,
        value: mid((r) => r.perLevelMs),
        unit: 'ms',
        target: { op: '<=', value: TARGET_MS },
        samples: results.map((r) => r.perLevelMs),
        notes: `a → b → c (6 data.set + 2 workflow.run, 3 runs) ${mid((r) => r.nestedMs).toFixed(2)} ms vs the 6 data.set in one run ${mid((r) => r.inlineMs).toFixed(2)} ms; median of ${mid((r) => r.pairs)} alternated pairs a rep; ${mid((r) => r.droppedRuns)} of them had a supervisor dropped on the way (lease lost, taken up at the next poll), ${undisturbedText(mid((r) => r.undisturbedMs))}`,
        how: '(median single-run latency of the 3-level chain − median of the same data.set steps in one run) / 2 child runs; startRun to getRun(wait), one run at a time, in process',
        extra: results,
      }
    } finally {
      await engine.close()
    }
  })
}

export async function subWorkflows(options) {
  return [
    await measure('sqlite', options),
    ...(await postgresInFullMode(options, 'a level of sub-workflow', async () => [
      await measure('postgres', options),
    ])),
  ]
}

await runIfMain(import.meta.url, subWorkflows)
