// A run whose checkpoints cannot be read back holds up no other: the poll that claims it with
// others logs it as dropped and rebuilds the rest, which finish.
import { afterEach, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { step, workflow } from './workflows.js'

describe(`a run that cannot be rebuilt (${TEST_DB})`, () => {
  const open: Engine[] = []
  afterEach(async () => {
    for (const engine of open.splice(0)) await engine.close()
  })

  it('is dropped alone: the other runs of the same claim are rebuilt and finish', async () => {
    const databaseUrl = await freshDatabaseUrl()
    const options = { databaseUrl, threads: 1, pollMs: 50, passivateAfterMs: 50 }
    const first = await Engine.open(options)
    const { workflow: wf, version } = await first.deploy(
      workflow('rebuilt', [
        step('wait', 'flow.delay', { for: '300ms' }),
        step('greet', 'data.set', { value: '{{ "hello " & input.name }}' }, { needs: ['wait'] }),
      ]),
    )
    const ids: string[] = []
    for (const name of ['Ada', 'Bob', 'Cy']) ids.push((await first.startRun(wf.id, { name }, { version })).id)
    await first.durable()
    // stopped while every run waits: a graceful stop leaves them claimable at once
    await first.close()
    const [broken, ...sound] = ids as [string, ...string[]]
    const probe = await Engine.open({ ...options, pollMs: 600_000 })
    await probe.db.knex('runs').where({ id: broken }).update({ input: '{not json' })
    await probe.close()

    const second = await Engine.open(options)
    open.push(second)
    const dropped: { runId: string; reason: string }[] = []
    second.events.on('dropped', (runId, reason) => dropped.push({ runId, reason }))
    await second.start()
    for (const id of sound) {
      const run = await second.getRun(id, 10_000)
      expect(run.status, `run ${id}`).toBe('succeeded')
    }
    expect(dropped).toContainEqual({ runId: broken, reason: 'it could not be rebuilt from its checkpoints' })
    expect(dropped.filter((d) => d.runId !== broken)).toEqual([])
    // left as it was, for its lease to run out and a later poll to try it again
    expect((await second.db.knex('runs').where({ id: broken }).first()).status).toBe('waiting')
  })
})
