// A run's record says what each step was given as `input` and which handle it fired, as the engine
// gave them (rebuilt from the stored rows, so the same after a restart).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { step, stepOf, workflow } from './workflows.js'

describe(`step inputs in a run's record (${TEST_DB})`, () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
    await engine.start()
  })
  afterAll(async () => engine?.close())

  it('shows each started step its input and the handle it fired; skipped steps neither', async () => {
    const { workflow: wf } = await engine.deploy(
      workflow('inputs', [
        step('double', 'data.set', { value: '{{ input.n * 2 }}' }),
        step('check', 'flow.if', { condition: '{{ input > 5 }}' }, { needs: ['double'] }),
        step('big', 'data.set', { value: '{{ "big " & input }}' }, { needs: ['check:true'] }),
        step('small', 'data.set', { value: 'small' }, { needs: ['check:false'] }),
      ]),
    )
    const run = await engine.getRun((await engine.startRun(wf.id, { n: 4 })).id, 10_000)
    expect(run.status).toBe('succeeded')
    expect(stepOf(run, 'double')).toMatchObject({ input: { n: 4 }, handle: 'out', output: 8 })
    expect(stepOf(run, 'check')).toMatchObject({ input: 8, handle: 'true', output: 8 })
    expect(stepOf(run, 'big')).toMatchObject({ input: 8, handle: 'out', output: 'big 8' })
    expect(stepOf(run, 'small').status).toBe('skipped')
    expect(stepOf(run, 'small')).not.toHaveProperty('input')
  })
})
