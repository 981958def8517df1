// Figure 6 — memory of waiting runs: a child process (an engine on a SQLite file) parks 10,000 runs
// (1,000 with --quick) on a 1 h flow.delay, 100 started at a time; its RSS after gc, once idle and
// once every run is parked, gives the cost of a parked run over the idle engine.
import { fileURLToPath } from 'node:url'
import { inChild } from './lib/child.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { median } from './lib/stats.mjs'

const TARGET_KB = 5
const CHILD = fileURLToPath(new URL('./lib/parked-engine.mjs', import.meta.url))

const measure = (options) => inChild(CHILD, options)

/**
 * The row of a memory-per-parked-run figure: `waitFor` is what the runs wait on (`delay`: a 1 h
 * flow.delay; `signal`: a flow.wait with no timeout), `what` how the figure names it, `quickCount`
 * how many runs park with --quick (10,000 without).
 */
export async function parkedMemory({ quick, reps }, { waitFor, what, targetKb, quickCount = 1_000 }) {
  const count = quick ? quickCount : 10_000
  const results = []
  for (let rep = 0; rep < reps; rep++) {
    const r = await measure({ count, settleMs: quick ? 500 : 3_000, waitFor })
    const kbPerRun = (r.loaded.rss - r.idle.rss) / 1024 / count
    const heapKbPerRun = (r.loaded.heapUsed - r.idle.heapUsed) / 1024 / count
    const secondHalf = count - Math.floor(count / 2)
    const slopeKbPerRun = (r.loaded.rss - r.halfway.rss) / 1024 / secondHalf
    if (r.waitingRows !== count)
      throw new Error(`${r.waitingRows} of ${count} runs are waiting in the database`)
    results.push({ ...r, kbPerRun, heapKbPerRun, slopeKbPerRun })
    log(
      `memory rep ${rep + 1}/${reps}: RSS ${(r.idle.rss / 2 ** 20).toFixed(1)} → ${(r.loaded.rss / 2 ** 20).toFixed(1)} MB = ${kbPerRun.toFixed(2)} KB/run (second half alone ${slopeKbPerRun.toFixed(2)} KB/run); heap ${heapKbPerRun.toFixed(2)} KB/run; parked in ${r.parkMs} ms; in memory ${r.activeAfter}`,
    )
  }
  const mid = (f) => median(results.map(f))
  return [
    {
      figure: `memory per parked run (${count.toLocaleString('en-US')} runs ${what}, RSS)`,
      value: mid((r) => r.kbPerRun),
      unit: 'KB',
      target: { op: '<=', value: targetKb },
      samples: results.map((r) => r.kbPerRun),
      notes: `idle RSS ${(mid((r) => r.idle.rss) / 2 ** 20).toFixed(0)} MB → ${(mid((r) => r.loaded.rss) / 2 ** 20).toFixed(0)} MB; second half of the runs alone ${mid((r) => r.slopeKbPerRun).toFixed(2)} KB/run; main JS heap ${mid((r) => r.heapKbPerRun).toFixed(2)} KB/run; ${mid((r) => r.activeAfter)} supervisors left in memory (passivated); parking took ${(mid((r) => r.parkMs) / 1000).toFixed(1)} s`,
      how: '(RSS after gc with every run parked and passivated − RSS after gc of the warmed, idle engine) / runs; child process',
      extra: results,
    },
  ]
}

export function waitingMemory(options) {
  return parkedMemory(options, { waitFor: 'delay', what: 'on a 1 h delay', targetKb: TARGET_KB })
}

await runIfMain(import.meta.url, waitingMemory)
