// Figure 1 — engine overhead per step: one run of 1,000 data.set steps in a line, in process, on
// SQLite in memory. A line allows no parallelism and no group commit across runs: every step
// pays the full loop (plan, checkpoint, worker round trip) once.
import { Engine } from '../dist/src/runtime/engine.js'
import { log, runIfMain } from './lib/harness.mjs'
import { profileWindow } from './lib/profile.mjs'
import { median, now } from './lib/stats.mjs'
import { chain } from './lib/workflows.mjs'

const STEPS = 1_000
const BREAKDOWN_STEPS = 200

/**
 * Where a step's time goes, from one more run (not measured above) with two engine internals
 * wrapped: the checkpoint transactions and the worker round trips. Both are awaited in turn by a
 * line, so their sum is most of a step; the rest is planning, expressions and scheduling.
 */
async function breakdown(engine) {
  const writer = engine.writer
  const pool = engine.dispatcher
  if (typeof writer?.flush !== 'function' || typeof pool?.run !== 'function') return undefined
  const spent = { flush: 0, flushes: 0, pool: 0, tasks: 0 }
  const flush = writer.flush
  const run = pool.run
  writer.flush = async function (...args) {
    const t = now()
    try {
      return await flush.apply(this, args)
    } finally {
      spent.flush += now() - t
      spent.flushes++
    }
  }
  pool.run = async function (...args) {
    const t = now()
    try {
      return await run.apply(this, args)
    } finally {
      spent.pool += now() - t
      spent.tasks++
    }
  }
  try {
    const ms = await timeRun(engine, 'warm-up')
    return {
      stepUs: (ms * 1000) / BREAKDOWN_STEPS,
      checkpointUs: (spent.flush * 1000) / BREAKDOWN_STEPS,
      dispatchUs: (spent.pool * 1000) / BREAKDOWN_STEPS,
      flushes: spent.flushes,
    }
  } finally {
    delete writer.flush
    delete pool.run
  }
}

async function timeRun(engine, workflowId) {
  const started = now()
  const { id } = await engine.startRun(workflowId, {})
  const run = await engine.getRun(id, 2 ** 31 - 1)
  const ms = now() - started
  if (run.status !== 'succeeded')
    throw new Error(`run ${id} ended ${run.status}: ${JSON.stringify(run.error)}`)
  return ms
}

/** The same line with every step sent to a worker (inline built-ins off): the baseline of the ratio. */
async function workerPathPerStep(reps) {
  const engine = await Engine.open({ databaseUrl: 'sqlite::memory:', inlineBuiltins: false })
  try {
    await engine.start()
    await engine.deploy(chain('long-line', STEPS))
    await engine.deploy(chain('warm-up', BREAKDOWN_STEPS))
    await timeRun(engine, 'warm-up')
    const perStep = []
    for (let rep = 0; rep < reps; rep++) perStep.push(((await timeRun(engine, 'long-line')) * 1000) / STEPS)
    log(`every step in a worker: ${perStep.map((us) => us.toFixed(0)).join(', ')} µs a step`)
    return { perStepUs: median(perStep), samples: perStep }
  } finally {
    await engine.close()
  }
}

export async function engineOverhead({ quick, reps }) {
  const engine = await Engine.open({ databaseUrl: 'sqlite::memory:' })
  try {
    await engine.start()
    await engine.deploy(chain('one-step', 1))
    await engine.deploy(chain('long-line', STEPS))
    await engine.deploy(chain('warm-up', BREAKDOWN_STEPS))
    // workers start, modules load and the JIT warms on runs that are not measured
    for (let i = 0; i < 5; i++) await timeRun(engine, 'one-step')
    await timeRun(engine, 'warm-up')
    await timeRun(engine, 'long-line')

    const perStep = []
    const single = []
    const stopProfile = await profileWindow('engine-overhead')
    for (let rep = 0; rep < reps; rep++) {
      const singles = []
      for (let i = 0; i < (quick ? 5 : 20); i++) singles.push(await timeRun(engine, 'one-step'))
      single.push(median(singles))
      const ms = await timeRun(engine, 'long-line')
      perStep.push((ms * 1000) / STEPS)
      log(
        `engine overhead rep ${rep + 1}/${reps}: ${STEPS} steps in ${ms.toFixed(0)} ms; 1-step run ${median(singles).toFixed(2)} ms`,
      )
    }
    const profile = await stopProfile()
    if (profile) log(`profile: ${profile}`)
    const parts = await breakdown(engine)
    if (parts)
      log(
        `breakdown over a ${BREAKDOWN_STEPS}-step line: ${parts.stepUs.toFixed(0)} µs a step, checkpoint ${parts.checkpointUs.toFixed(0)} µs, running the action ${parts.dispatchUs.toFixed(0)} µs`,
      )
    const perStepUs = median(perStep)
    const baseline = await workerPathPerStep(reps)
    const singleMs = median(single)
    const lineMs = (perStepUs * STEPS) / 1000
    const marginalUs = ((lineMs - singleMs) * 1000) / (STEPS - 1)
    return [
      {
        figure: 'engine overhead per step (1,000-step line, SQLite :memory:)',
        value: perStepUs,
        unit: 'µs',
        target: { op: '<=', value: 100 },
        samples: perStep,
        notes:
          `${STEPS}-step run ${lineMs.toFixed(0)} ms = ${(lineMs / singleMs).toFixed(0)}× a 1-step run (${singleMs.toFixed(2)} ms); marginal ${marginalUs.toFixed(0)} µs/step` +
          (parts
            ? `; of a step: checkpoint commit ${parts.checkpointUs.toFixed(0)} µs + running the action ${parts.dispatchUs.toFixed(0)} µs (of ${parts.stepUs.toFixed(0)} µs, ${BREAKDOWN_STEPS}-step line)`
            : ''),
        how: 'wall time from startRun to getRun(wait) resolving, for a line of 1,000 data.set steps, / 1,000',
        extra: { lineMs, singleRunMs: singleMs, marginalUs, singleSamples: single, breakdown: parts },
      },
      {
        figure: 'the same line with every step in a worker (baseline of the ratio)',
        value: baseline.perStepUs,
        unit: 'µs',
        target: null,
        samples: baseline.samples,
        notes: `inline built-ins take ${(perStepUs / baseline.perStepUs).toFixed(2)}× the time of the worker path, measured in the same run`,
        how: 'as above, with the engine option inlineBuiltins: false',
      },
    ]
  } finally {
    await engine.close()
  }
}

await runIfMain(import.meta.url, engineOverhead)
