// One workflow cannot hold every sandbox thread: while its long CPU loops run, another workflow's
// code steps still get a thread; and a sandbox process that dies is replaced and takes work again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import type { SandboxEvent } from '../../src/sandbox/sandbox-pool.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { codeWorkflow, runOk } from '../integration/workflows.js'

describe(`the sandbox pool (${TEST_DB})`, () => {
  let engine: Engine
  beforeAll(async () => {
    // two threads: three sandbox processes, of which one workflow may hold two
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 2 })
    engine.warmUp()
    // every process up and past its first step (which loads the pieces in its thread): the test
    // below measures who gets a thread, not how long a process takes to start beside CPU hogs
    for (let i = 0; i < 200 && engine.executors.threads < 3; i++) await new Promise((r) => setTimeout(r, 50))
    await Promise.all([1, 2, 3].map(() => runOk(engine, codeWorkflow('return 0'))))
  })
  afterAll(async () => engine?.close())

  it('keeps a thread for others while one workflow runs long CPU loops', async () => {
    const hog = codeWorkflow('const end = Date.now() + 3000; while (Date.now() < end) {} return 1', {
      timeout: '10s',
    })
    const { workflow, version } = await engine.deploy(hog)
    const hogs = await Promise.all(
      [1, 2, 3, 4].map(() => engine.startRun(workflow.id, {}, { version }).then((r) => r.id)),
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    const t = performance.now()
    await runOk(engine, codeWorkflow('return 42'))
    const quick = performance.now() - t
    const ends = await Promise.all(hogs.map((id) => engine.getRun(id, 30_000)))
    console.log(`a quick code step beside 4 CPU hogs: ${quick.toFixed(0)} ms`)
    expect(quick).toBeLessThan(1_500)
    expect(ends.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded'])
  })

  it('replaces a sandbox process that died and fails only the attempt in it', async () => {
    const events: SandboxEvent[] = []
    engine.events.on('sandbox', (event) => events.push(event))
    const bomb = await engine.runOnce(
      codeWorkflow('const k = []; for (;;) k.push(new Uint8Array(64 * 1024 * 1024).fill(1))'),
      {},
    )
    expect(bomb.error).toMatchObject({ code: 'MEMORY' })
    await runOk(engine, codeWorkflow('return 1'))
    const exited = events.find((e) => e.type === 'exited')
    expect(exited).toMatchObject({ type: 'exited', lost: 1 })
    const replacement = () => events.slice(events.indexOf(exited!)).find((e) => e.type === 'ready')
    for (let i = 0; i < 100 && !replacement(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
    const replaced = replacement()
    console.log(
      `a sandbox process replaced in ${replaced?.type === 'ready' && replaced.startedInMs.toFixed(0)} ms`,
    )
    expect(replaced).toBeDefined()
    expect(engine.executors.threads).toBeGreaterThanOrEqual(3)
  })
})
