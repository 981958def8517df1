// Figure 9 — a 10,000-way fan-in: 10,000 data.set steps and one flow.merge that needs them all.
// What the join rules cost on the engine's thread, live (10,000 deliveries into the merge's
// mailbox) and after a restart (the mailboxes replayed from checkpoints); and the whole run through
// the engine, with the longest stall of its event loop meanwhile.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { compileWorkflow } from '../dist/src/definition/compile.js'
import { loadRegistry } from '../dist/src/piece-sdk/registry.js'
import { Engine } from '../dist/src/runtime/engine.js'
import { stepInputs } from '../dist/src/runtime/join.js'
import { restoreRunState } from '../dist/src/runtime/restore.js'
import { newStepState } from '../dist/src/runtime/state.js'
import { transition } from '../dist/src/runtime/transition.js'
import { log, runIfMain } from './lib/harness.mjs'
import { median, now } from './lib/stats.mjs'
import { fanIn } from './lib/workflows.mjs'

const WIDTH = 10_000
const JOIN_TARGET_MS = 50

/** Every root delivers, one event each; the merge is dispatched with its inputs. The time in ms. */
function joinOnce(wf) {
  const state = {
    id: 'bench',
    status: 'queued',
    steps: new Map(wf.steps.map((s) => [s.id, newStepState(s.id)])),
  }
  transition(wf, state, { type: 'start' }, 0)
  const merge = wf.byId.get('merge')
  const started = now()
  for (let i = 0; i < WIDTH; i++)
    transition(wf, state, { type: 'delivered', stepId: `s${i}`, handle: 'out', value: i }, 1)
  const { inputs } = stepInputs(merge.needs, state.steps.get('merge').mailbox, null)
  const ms = now() - started
  if (state.steps.get('merge').status !== 'running' || Object.keys(inputs).length !== WIDTH)
    throw new Error('the merge did not run with every input')
  return ms
}

/** The step rows of the run once every root succeeded, as a restart reads them back. */
function rowsBeforeMerge(wf) {
  return wf.steps
    .filter((s) => s.id !== 'merge')
    .map((s, i) => ({
      run_id: 'bench',
      step_id: s.id,
      status: 'succeeded',
      attempts: 1,
      interruptions: 0,
      handle: 'out',
      output: String(i),
      error: null,
      wake_at: null,
      started_at: 0,
      finished_at: 1,
    }))
}

/** restoreRunState (mailboxes replayed) and `resume` (the merge found ready). The time in ms. */
function restoreOnce(wf, rows) {
  const started = now()
  const state = restoreRunState(wf, { id: 'bench', status: 'running' }, rows)
  const t = transition(wf, state, { type: 'resume' }, 2)
  const ms = now() - started
  if (!t.effects.some((e) => e.type === 'dispatch' && e.stepId === 'merge'))
    throw new Error('the merge did not start')
  return ms
}

async function planner({ quick }) {
  const registry = await loadRegistry()
  const definition = fanIn('fan-in', WIDTH)
  const compileStarted = now()
  const wf = compileWorkflow(definition, registry)
  const compileMs = now() - compileStarted
  const rows = rowsBeforeMerge(wf)
  // the JIT warms on rounds that are not measured
  for (let i = 0; i < 3; i++) {
    joinOnce(wf)
    restoreOnce(wf, rows)
  }
  const samples = quick ? 5 : 15
  const join = []
  const restore = []
  for (let i = 0; i < samples; i++) {
    join.push(joinOnce(wf))
    restore.push(restoreOnce(wf, rows))
  }
  log(
    `join: ${join.map((ms) => ms.toFixed(1)).join(', ')} ms; restore: ${restore.map((ms) => ms.toFixed(1)).join(', ')} ms`,
  )
  return { join, restore, compileMs }
}

/** The whole run in process on SQLite in memory: wall time, and the longest event-loop stall. */
async function endToEnd({ quick, reps }) {
  const engine = await Engine.open({ databaseUrl: 'sqlite::memory:' })
  try {
    await engine.start()
    await engine.deploy(fanIn('fan-in', WIDTH))
    const runOnce = async () => {
      const stalls = monitorEventLoopDelay({ resolution: 10 })
      stalls.enable()
      const started = now()
      const { id } = await engine.startRun('fan-in', {})
      const run = await engine.getRun(id, 2 ** 31 - 1)
      const ms = now() - started
      stalls.disable()
      if (run.status !== 'succeeded' || run.output !== WIDTH)
        throw new Error(`run ${id} ended ${run.status} with ${JSON.stringify(run.output ?? run.error)}`)
      return { ms, stallMs: stalls.max / 1e6 }
    }
    await runOnce()
    const results = []
    for (let rep = 0; rep < (quick ? 1 : reps); rep++) results.push(await runOnce())
    log(
      `end to end: ${results.map((r) => `${r.ms.toFixed(0)} ms (longest stall ${r.stallMs.toFixed(0)} ms)`).join(', ')}`,
    )
    return results
  } finally {
    await engine.close()
  }
}

export async function fanInBench(options) {
  const { join, restore, compileMs } = await planner(options)
  const e2e = await endToEnd(options)
  return [
    {
      figure: '10,000-way fan-in: join time of one run (planner)',
      value: median(join),
      unit: 'ms',
      target: { op: '<=', value: JOIN_TARGET_MS },
      samples: join,
      notes: `${((median(join) * 1000) / WIDTH).toFixed(1)} µs a delivery; compiling the 10,001-step definition took ${compileMs.toFixed(0)} ms`,
      how: '10,000 `delivered` transitions into one flow.merge (join all), then its inputs as dispatch reads them; pure, no I/O',
    },
    {
      figure: '10,000-way fan-in: the same run rebuilt after a restart (planner)',
      value: median(restore),
      unit: 'ms',
      target: { op: '<=', value: JOIN_TARGET_MS },
      samples: restore,
      how: 'restoreRunState from 10,000 succeeded step rows (mailboxes replayed), then `resume`, which starts the merge',
    },
    {
      figure: '10,000-way fan-in run end to end (in process, SQLite :memory:)',
      value: median(e2e.map((r) => r.ms)),
      unit: 'ms',
      target: null,
      samples: e2e.map((r) => r.ms),
      notes: `longest event-loop stall ${Math.max(...e2e.map((r) => r.stallMs)).toFixed(0)} ms (checkpoints and reads of 10,001 step rows included)`,
      how: 'startRun to getRun(wait) of the fan-in, every step inline; monitorEventLoopDelay meanwhile',
    },
  ]
}

await runIfMain(import.meta.url, fanInBench)
