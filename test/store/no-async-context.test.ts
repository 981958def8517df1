// The store's everyday operations never enter an AsyncLocalStorage: once one has been entered,
// Node keeps a hook on every promise of the process for good (an await then costs several times
// as much). The ORM's unit of work and transactions enter one; the store writes through knex.
import { AsyncLocalStorage } from 'node:async_hooks'
import { afterAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

const proto = AsyncLocalStorage.prototype as unknown as { _enable?: () => void }
const entered: string[] = []
const enable = proto._enable
let engine: Engine | undefined

afterAll(async () => {
  proto._enable = enable
  await engine?.close()
})

describe.runIf(typeof enable === 'function')(`async context (${TEST_DB})`, () => {
  it('is never entered by deploys, pauses, starts, reads and deletes', async () => {
    proto._enable = function (this: unknown) {
      entered.push(new Error('entered').stack ?? '')
      return enable!.call(this)
    }
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
    const definition = {
      id: 'plain',
      trigger: { uses: 'manual' },
      steps: [{ id: 'a', uses: 'data.set', with: { value: '{{ input.n }}' } }],
    }
    await engine.deploy(definition)
    await engine.deploy({ ...definition, name: 'changed' })
    await engine.workflows.setPaused('plain', true)
    await engine.workflows.setPaused('plain', false)
    const { id } = await engine.startRun('plain', { n: 1 })
    expect((await engine.getRun(id, 5000)).output).toBe(1)
    await engine.workflows.list()
    await engine.workflows.get('plain', 1)
    await engine.workflows.remove('plain')
    await engine.deploy(definition)
    expect(entered).toEqual([])
  })
})
