// Figure 12 — a 10,000-item forEach: one data.set step over 10,000 items (each checkpointed as an
// item row), in a child process that ran a 1,000-item loop first; its wall time, and how far the
// engine process's RSS grows over it (peak, and what stays after gc). A fresh child per repetition
// and database, so that every measured loop is the first of its size in its process.
import { fileURLToPath } from 'node:url'
import { inChild } from './lib/child.mjs'
import { LABEL, postgresInFullMode, withDatabase } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { median } from './lib/stats.mjs'

const ITEMS = 10_000
const WARM_ITEMS = 1_000
const TARGET_MS = 2_000
const TARGET_MB = 50
const CHILD = fileURLToPath(new URL('./lib/for-each-engine.mjs', import.meta.url))
const MB = 2 ** 20
const signed = (mb) => `${mb >= 0 ? '+' : ''}${mb.toFixed(1)}`

async function measure(kind, reps) {
  const results = []
  for (let rep = 0; rep < reps; rep++) {
    const r = await withDatabase(kind, (db) =>
      inChild(CHILD, { databaseUrl: db.url, items: ITEMS, warmItems: WARM_ITEMS }),
    )
    const peakMb = r.peak === undefined ? Number.NaN : (r.peak - r.before.rss) / MB
    const keptMb = (r.after.rss - r.before.rss) / MB
    results.push({ ...r, peakMb, keptMb })
    log(
      `${LABEL[kind]} rep ${rep + 1}/${reps}: ${ITEMS} items in ${r.ms.toFixed(0)} ms; RSS ${(r.before.rss / MB).toFixed(0)} MB, peak ${signed(peakMb)} MB, after gc ${signed(keptMb)} MB`,
    )
  }
  const mid = (f) => median(results.map(f))
  const label = `${ITEMS.toLocaleString('en-US')}-item forEach of data.set`
  return [
    {
      figure: `${label}: wall time (${LABEL[kind]})`,
      value: mid((r) => r.ms),
      unit: 'ms',
      target: { op: '<=', value: TARGET_MS },
      samples: results.map((r) => r.ms),
      notes: `${((mid((r) => r.ms) * 1000) / ITEMS).toFixed(0)} µs an item (default concurrency 10, every item checkpointed)`,
      how: `startRun to getRun(wait) of one step with forEach over ${ITEMS.toLocaleString('en-US')} numbers, in a child process warmed by a ${WARM_ITEMS.toLocaleString('en-US')}-item loop`,
      extra: results,
    },
    {
      figure: `${label}: engine RSS growth, peak (${LABEL[kind]})`,
      value: mid((r) => r.peakMb),
      unit: 'MB',
      target: { op: '<=', value: TARGET_MB },
      samples: results.map((r) => r.peakMb),
      notes: `RSS after gc before the loop ${mid((r) => r.before.rss / MB).toFixed(0)} MB; after it, after gc, ${signed(mid((r) => r.keptMb))} MB`,
      how: 'the peak RSS during the run (VmHWM, reset just before it) − the RSS after gc before it; workers included (threads of the same process)',
    },
  ]
}

export async function forEach(options) {
  return [
    ...(await measure('sqlite', options.reps)),
    ...(await postgresInFullMode(options, `${ITEMS.toLocaleString('en-US')}-item forEach`, () =>
      measure('postgres', options.reps),
    )),
  ]
}

await runIfMain(import.meta.url, forEach)
