// The webhook routing table: a reload answers with what was stored when it was asked for, and a
// flood of reloads (every 404 asks for one) reads the database a bounded number of times.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { WebhookRoutes } from '../../src/triggers/webhooks.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

const hook = (id: string, path: string) => ({
  id,
  trigger: { uses: 'webhook', with: { path } },
  steps: [{ id: 'a', uses: 'data.set', with: { value: 1 } }],
})

describe(`webhook routes (${TEST_DB})`, () => {
  let engine: Engine
  let routes: WebhookRoutes
  let reads = 0
  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
    const live = engine.liveWorkflows.bind(engine)
    engine.liveWorkflows = (kind?: string) => {
      reads++
      return live(kind)
    }
    routes = new WebhookRoutes(engine)
  })
  afterAll(async () => engine?.close())

  it('reads the database a bounded number of times for a flood of reloads, and every one sees what was stored before it', async () => {
    await engine.deploy(hook('first', 'one'))
    await routes.reload()
    reads = 0
    const flood = Array.from({ length: 200 }, () => routes.reload())
    // stored while the first reload of the flood is under way: the callers after it must see it
    await engine.deploy(hook('second', 'two'))
    const late = routes.reload()
    await Promise.all([...flood, late])
    // at most three reads for the reloads (the first, the one after it for the flood, the one after
    // that for the late call), and one by the deploy itself (it checks that the path is free)
    expect(reads).toBeLessThanOrEqual(4)
    expect(routes.find('two')?.workflowId).toBe('second')
    expect(routes.find('/one/')?.workflowId).toBe('first')
  })

  it('answers a reload after a failed one with a fresh read', async () => {
    const live = engine.liveWorkflows
    engine.liveWorkflows = () => Promise.reject(new Error('database away'))
    await expect(routes.reload()).rejects.toThrow('database away')
    engine.liveWorkflows = live
    await engine.deploy(hook('third', 'three'))
    await routes.reload()
    expect(routes.find('three')?.workflowId).toBe('third')
  })
})
