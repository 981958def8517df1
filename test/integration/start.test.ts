// Starting a run: its row is written in the same commit as its first steps, only pure steps run
// before that commit is durable (a line of them ends in it), and a start whose commit fails leaves
// no run behind (nor a taken place under the workflow's `concurrency`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { runOk, step, workflow } from './workflows.js'

describe(`starting a run (${TEST_DB})`, () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 2 })
  })
  afterAll(async () => engine?.close())

  it('writes the run and its first steps in one commit, before the first step runs', async () => {
    // the first steps keep their worker busy for a while: the rows read below are the first commit's
    const busy = 'const end = Date.now() + 300; while (Date.now() < end) {}; return 1'
    const { workflow: wf } = await engine.deploy(
      workflow('first', [
        step('a', 'code.run', { code: busy }),
        step('b', 'code.run', { code: busy }),
        step('c', 'data.set', { value: 3 }, { needs: ['a'] }),
      ]),
    )
    const commits = engine.checkpointStats.commits
    const { id, status } = await engine.startRun(wf.id, { n: 1 })
    expect(status).toBe('running')
    expect(engine.checkpointStats.commits - commits).toBe(1)
    const [run] = await engine.db.knex('runs').where({ id })
    expect([run.status, run.input, run.started_at !== null]).toEqual(['running', '{"n":1}', true])
    const steps: Record<string, unknown>[] = await engine.db
      .knex('step_states')
      .where({ run_id: id })
      .orderBy('step_id')
    expect(steps.map((s) => [s.step_id, s.status])).toEqual([
      ['a', 'running'],
      ['b', 'running'],
    ])
    expect((await engine.getRun(id, 10_000)).status).toBe('succeeded')
  })

  it('lets the event loop turn during a long line of pure steps, and commits it in few transactions', async () => {
    const steps = Array.from({ length: 320 }, (_, i) =>
      step(`s${i}`, 'data.set', { value: i }, i > 0 ? { needs: [`s${i - 1}`] } : {}),
    )
    const { workflow: wf } = await engine.deploy(workflow('line', steps))
    const commits = engine.checkpointStats.commits
    let turns = 0
    let running = true
    const tick = () => {
      turns++
      if (running) setImmediate(tick)
    }
    const { id } = await engine.startRun(wf.id, {})
    setImmediate(tick)
    const run = await engine.getRun(id, 10_000)
    running = false
    expect(run.status).toBe('succeeded')
    // at most 32 pure steps run between two turns of the event loop ...
    expect(turns).toBeGreaterThanOrEqual(320 / 32 - 1)
    // ... and a line shares commits instead of paying one a step
    expect(engine.checkpointStats.commits - commits).toBeLessThan(320 / 4)
  })

  it('stores a run of pure steps and its end in one commit', async () => {
    const line = [1, 2, 3].map((i) =>
      step(`s${i}`, 'data.set', { value: i }, i > 1 ? { needs: [`s${i - 1}`] } : {}),
    )
    const { workflow: wf } = await engine.deploy(workflow('pure-line', line))
    const commits = engine.checkpointStats.commits
    const { id } = await engine.startRun(wf.id, {})
    expect(engine.checkpointStats.commits - commits).toBe(1)
    const [run] = await engine.db.knex('runs').where({ id })
    expect([run.status, run.output]).toEqual(['succeeded', '3'])
  })

  it('stores a child of pure steps with its end, and its parent takes that end and ends in one commit', async () => {
    const { workflow: child } = await engine.deploy(
      workflow('pure-child', [step('c', 'data.set', { value: 2 })]),
    )
    const { workflow: parent } = await engine.deploy(
      workflow('pure-parent', [
        step('call', 'workflow.run', { workflow: child.id }),
        step('after', 'data.set', { value: '{{ steps.call.output + 1 }}' }, { needs: ['call'] }),
      ]),
    )
    const commits = engine.checkpointStats.commits
    const { id } = await engine.startRun(parent.id, {})
    const run = await engine.getRun(id, 10_000)
    await engine.durable()
    expect([run.status, run.output]).toEqual(['succeeded', 3])
    // the parent's row with its step's start; the child's row with its end; the parent waiting; the
    // parent taking the child's end with its last step and its own end
    expect(engine.checkpointStats.commits - commits).toBeLessThanOrEqual(4)
  })

  it('refuses an id that is taken, in memory or stored, and leaves that run as it was', async () => {
    // the run held by this process, ended: a start of its id runs nothing and writes nothing over it
    const { workflow: wf } = await engine.deploy(
      workflow('taken', [step('a', 'data.set', { value: '{{ input.n }}' })]),
    )
    const done = await runOk(engine, wf.definition, { n: 1 })
    const [before] = await engine.db.knex('runs').where({ id: done.id })
    await expect(engine.startRun(wf.id, { n: 2 }, { id: done.id })).rejects.toThrow(/exists already/)
    await engine.durable()
    const again = await engine.getRun(done.id)
    expect([again.status, again.output, again.input]).toEqual(['succeeded', 1, { n: 1 }])
    const [after] = await engine.db.knex('runs').where({ id: done.id })
    expect(after).toEqual(before)

    const { workflow: slow } = await engine.deploy(
      workflow('taken-live', [step('wait', 'flow.delay', { for: '300ms' })]),
    )
    const live = await engine.startRun(slow.id, {})
    await expect(engine.startRun(slow.id, {}, { id: live.id })).rejects.toThrow(/exists already/)
    expect((await engine.getRun(live.id, 10_000)).status).toBe('succeeded')
  })

  it('frees the place under concurrency of a start that failed', async () => {
    const { workflow: wf } = await engine.deploy(
      workflow('gated', [step('a', 'data.set', { value: 1 })], { concurrency: 1 }),
    )
    const first = await engine.startRun(wf.id, {})
    expect((await engine.getRun(first.id, 10_000)).status).toBe('succeeded')
    await expect(engine.startRun(wf.id, {}, { id: first.id })).rejects.toThrow()
    const next = await engine.startRun(wf.id, {})
    expect((await engine.getRun(next.id, 10_000)).status).toBe('succeeded')
  })

  it('holds runs past the concurrency limit queued, and starts them in order as places free', async () => {
    const { workflow: wf } = await engine.deploy(
      workflow('one-by-one', [step('wait', 'flow.delay', { for: '150ms' })], { concurrency: 1 }),
    )
    const started = []
    for (let i = 0; i < 3; i++) started.push(await engine.startRun(wf.id, { i }))
    expect(started.map((r) => r.status)).toEqual(['running', 'queued', 'queued'])
    const runs = await Promise.all(started.map((r) => engine.getRun(r.id, 10_000)))
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
    // one at a time, in the order they came: each started once the one before had finished
    for (let i = 1; i < runs.length; i++)
      expect(Date.parse(runs[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1]!.finishedAt!))
  })
})
