// Bounded expressions through the engine: an expression that would hold the engine's thread forever
// fails its step with EXPRESSION within its budget, and the runs beside it go on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { expectFailed, runOk, step, stepOf, workflow } from './workflows.js'

const ENDLESS = '{{ ( $f := function($n){ $f($n + 1) }; $f(0) ) }}'

/** A run of five steps one after the other, each an expression over the one before. */
const chain = () =>
  workflow('ordinary', [
    step('s0', 'data.set', { value: '{{ trigger.n + 1 }}' }),
    ...[1, 2, 3, 4].map((i) =>
      step(`s${i}`, 'data.set', { value: '{{ input * 2 }}' }, { needs: [`s${i - 1}`] }),
    ),
  ])

describe(`bounded expressions (${TEST_DB})`, () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
  })
  afterAll(async () => engine?.close())

  it('fails an endlessly recursive data.set within a second while an ordinary run succeeds', async () => {
    const endless = await engine.deploy(workflow('endless', [step('loop', 'data.set', { value: ENDLESS })]))
    const ordinary = await engine.deploy(chain())
    await runOk(engine, chain(), { n: 1 }) // warm-up: the first run's queries and code are not what is measured

    const started = performance.now()
    const ids = await Promise.all([
      engine.startRun(endless.workflow.id, {}),
      engine.startRun(ordinary.workflow.id, { n: 1 }),
    ])
    const [stuck, fine] = await Promise.all(ids.map(({ id }) => engine.getRun(id, 10_000)))
    const ms = performance.now() - started
    console.log(`an endless expression and an ordinary run beside it: ${ms.toFixed(0)} ms wall`)

    const error = expectFailed(stuck!, 'loop', 'EXPRESSION')
    expect(error.message).toMatch(
      /^step 'loop': expression "\( \$f := .*" took longer than its 100 ms budget \(expressions\.timeout\)$/,
    )
    expect(fine, JSON.stringify(fine?.error)).toMatchObject({ status: 'succeeded' })
    expect(stepOf(fine!, 's4').output).toBe(32)
    expect(ms).toBeLessThan(1_000)
  })

  it('fails the run when its output expression builds a string too long', async () => {
    const run = await engine.runOnce(
      workflow('huge-output', [step('a', 'data.set', { value: 1 })], {
        output: '{{ $length($pad("x", 100000000)) }}',
      }),
      {},
    )
    expect(run).toMatchObject({
      status: 'failed',
      error: {
        code: 'EXPRESSION',
        message: expect.stringMatching(
          /^workflow output: expression ".*" built a string longer than 4194304 characters \(expressions\.maxResultBytes\)$/,
        ),
      },
    })
  })

  it('compiles with the limits the engine was opened with', async () => {
    const strict = await Engine.open({
      databaseUrl: await freshDatabaseUrl(),
      threads: 1,
      expressions: { maxSequence: 10 },
    })
    try {
      const run = await strict.runOnce(
        workflow('strict', [
          step('ok', 'data.set', { value: '{{ $count([1..10]) }}' }),
          step('long', 'data.set', { value: '{{ $count([1..11]) }}' }, { needs: ['ok'] }),
        ]),
        {},
      )
      const error = expectFailed(run, 'long', 'EXPRESSION')
      expect(error.message).toMatch(/produced a sequence longer than 10 items \(expressions\.maxSequence\)$/)
      expect(stepOf(run, 'ok').output).toBe(10)
    } finally {
      await strict.close()
    }
  })
})
