// Figure 13 — memory of runs waiting for a signal: as figure 6, with the runs parked on a flow.wait
// with no timeout instead of a delay. Such a run has no due time at all; it must leave memory all
// the same (passivation) and come back when a signal arrives (figure 14).
import { runIfMain } from './lib/harness.mjs'
import { parkedMemory } from './waiting-memory.mjs'

const TARGET_KB = 2

export function signalMemory(options) {
  return parkedMemory(options, {
    waitFor: 'signal',
    what: 'on flow.wait, no timeout',
    targetKb: TARGET_KB,
    // 1,000 runs grow the RSS by a few MB, as much as the one-time growth that comes with them
    quickCount: 5_000,
  })
}

await runIfMain(import.meta.url, signalMemory)
