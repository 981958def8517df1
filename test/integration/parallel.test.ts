// Steps without needs between them run at once on the worker threads; long chains stay correct.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { runOk, step, stepOf, workflow } from './workflows.js'

/** Busy for `ms` of wall time on the worker's thread; reports when it really ran. */
const burn = (ms: number) => `
  const start = Date.now()
  let spins = 0
  while (Date.now() - start < ${ms}) spins++
  return { start, end: Date.now(), spins: spins > 0 }
`

function twoBurners(ms: number) {
  return workflow('burn', [
    step('left', 'code.run', { code: burn(ms) }),
    step('right', 'code.run', { code: burn(ms) }),
  ])
}

interface Span {
  start: number
  end: number
}

let engine: Engine

beforeAll(async () => {
  engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 2 })
})

afterAll(async () => {
  await engine?.close()
})

describe(`parallel steps (${TEST_DB})`, () => {
  it('runs two 1 s CPU-bound steps at once on a 2-thread engine', async () => {
    await runOk(engine, twoBurners(20)) // warm-up: both workers started and their code loaded
    const started = performance.now()
    const run = await runOk(engine, twoBurners(1_000))
    const wall = performance.now() - started
    console.log(`two 1 s steps on 2 threads: ${wall.toFixed(0)} ms wall`)
    const left = stepOf(run, 'left').output as Span
    const right = stepOf(run, 'right').output as Span
    // the spans measured inside the workers overlap: both steps were on a thread at the same time
    expect(Math.max(left.start, right.start)).toBeLessThan(Math.min(left.end, right.end))
    expect(wall).toBeLessThan(1_800)
  })

  it('runs them one after the other on a 1-thread engine (the control)', async () => {
    const single = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
    try {
      await runOk(single, twoBurners(20))
      const started = performance.now()
      const run = await runOk(single, twoBurners(500))
      const wall = performance.now() - started
      console.log(`two 0.5 s steps on 1 thread: ${wall.toFixed(0)} ms wall`)
      const left = stepOf(run, 'left').output as Span
      const right = stepOf(run, 'right').output as Span
      expect(Math.max(left.start, right.start)).toBeGreaterThanOrEqual(Math.min(left.end, right.end))
      expect(wall).toBeGreaterThanOrEqual(1_000)
    } finally {
      await single.close()
    }
  })

  it('counts a step’s timeout from when it runs, not while it waits for a free thread', async () => {
    // six 300 ms steps on two threads: the last two wait ~600 ms for a thread, then run 300 ms,
    // each inside its own 500 ms timeout
    const steps = Array.from({ length: 6 }, (_, i) =>
      step(`s${i}`, 'code.run', { code: burn(300) }, { timeout: '500ms', onError: 'continue' }),
    )
    const run = await engine.runOnce(workflow('queued', steps), {})
    const failed = run.steps
      .filter((s) => s.status !== 'succeeded')
      .map((s) => ({ id: s.id, error: s.error }))
    expect(failed, JSON.stringify(run.error)).toEqual([])
    expect(run.status).toBe('succeeded')
  })

  it('runs a 100-step chain of data.set to the right output', async () => {
    const steps = Array.from({ length: 100 }, (_, i) =>
      step(
        `s${i}`,
        'data.set',
        { value: `{{ { 'n': input.n + 1, 'sum': input.sum + ${i}, 'last': '${`s${i}`}' } }}` },
        i === 0 ? {} : { needs: [`s${i - 1}`] },
      ),
    )
    const definition = workflow('chain', steps)
    const started = performance.now()
    const run = await runOk(engine, definition, { n: 0, sum: 0 })
    const wall = performance.now() - started
    console.log(`100-step data.set chain: ${wall.toFixed(0)} ms wall (${TEST_DB})`)
    expect(run.output).toEqual({ n: 100, sum: 4950, last: 's99' })
    expect(run.steps).toHaveLength(100)
    expect(run.steps.every((s) => s.status === 'succeeded' && s.attempts === 1)).toBe(true)
    expect(stepOf(run, 's49').output).toEqual({ n: 50, sum: 1225, last: 's49' })
  })

  it('fans 50 steps out and merges them back', async () => {
    const branches = Array.from({ length: 50 }, (_, i) =>
      step(`b${i}`, 'data.set', { value: `{{ input.base + ${i} }}` }),
    )
    const merge = step('merge', 'flow.merge', {}, { needs: branches.map((b) => b.id) })
    const total = step(
      'total',
      'code.run',
      { code: 'return Object.values(input).reduce((a, b) => a + b, 0)' },
      {
        needs: ['merge'],
      },
    )
    const run = await runOk(engine, workflow('fan', [...branches, merge, total]), { base: 10 })
    expect(run.output).toBe(50 * 10 + (49 * 50) / 2)
    expect(Object.keys(stepOf(run, 'merge').output as object)).toHaveLength(50)
  })
})
