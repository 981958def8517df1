// Two engines on one PostgreSQL database, as two processes would be: a cancel asked of the one that
// does not hold the run reaches its holder through the database; a run that failed in one is
// retried through the other at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import type { RunView } from '../../src/store/runs.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { step, workflow } from './workflows.js'

/** Polls a run through `engine` until `done` says so (or `ms` pass): ends in another process are not announced. */
async function until(
  engine: Engine,
  id: string,
  done: (run: RunView) => boolean,
  ms = 5_000,
): Promise<RunView> {
  const deadline = Date.now() + ms
  for (;;) {
    const run = await engine.getRun(id)
    if (done(run) || Date.now() > deadline) return run
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe.runIf(TEST_DB === 'postgres')('two engines on one database (postgres)', () => {
  let a: Engine
  let b: Engine
  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl()
    // runs stay in memory while they wait (no passivation), so that one engine holds them
    const options = { databaseUrl, threads: 1, pollMs: 100, passivateAfterMs: 600_000 }
    a = await Engine.open(options)
    b = await Engine.open(options)
    await a.start()
    await b.start()
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
  })

  it('cancels a run held by the other engine', async () => {
    const { workflow: wf, version } = await a.deploy(
      workflow('held', [step('wait', 'flow.delay', { for: '1h' })]),
    )
    const { id } = await a.startRun(wf.id, {}, { version })
    // the step's delay has begun: the run waits, held by `a`
    for (let i = 0; i < 50 && (await b.getRun(id)).status !== 'waiting'; i++)
      await new Promise((r) => setTimeout(r, 20))
    expect((await b.getRun(id)).status).toBe('waiting')
    const t = Date.now()
    await b.cancelRun(id)
    expect((await b.getRun(id)).status).toBe('cancelled')
    expect(Date.now() - t).toBeLessThan(5_000)
  })

  it('retries a run that failed in the other engine at once', async () => {
    const { workflow: wf, version } = await a.deploy(
      workflow('flaky', [step('check', 'flow.fail', { code: 'NOPE', message: 'not yet' })]),
    )
    const { id } = await a.startRun(wf.id, {}, { version })
    expect((await a.getRun(id, 5_000)).status).toBe('failed')
    await b.retryRun(id)
    expect((await b.getRun(id, 5_000)).status).toBe('failed')
    const logs = await b.db.knex('run_logs').where({ run_id: id })
    expect(logs.filter((l) => /step failed/.test(l.msg)).length).toBe(2)
  })

  it('delivers a signal sent through the other engine to a run it holds in memory', async () => {
    const { workflow: wf, version } = await a.deploy(
      workflow(
        'approve-held',
        [
          step('approval', 'flow.wait', { signal: 'approval' }),
          // a short timer keeps the run in `a`'s memory meanwhile
          step('hold', 'flow.delay', { for: '3s' }),
          step('after', 'data.set', { value: '{{ inputs.approval.by }}' }, { needs: ['approval', 'hold'] }),
        ],
        { output: '{{ steps.after.output }}' },
      ),
    )
    const { id } = await a.startRun(wf.id, {}, { version })
    await until(b, id, (run) => run.steps.find((s) => s.id === 'approval')?.status === 'waiting')
    expect((await b.getRun(id)).steps.find((s) => s.id === 'approval')?.waitingFor).toEqual({
      signal: 'approval',
    })
    expect((await a.db.knex('runs').where({ id }).first()).owner).toBe(a.owner)
    await b.signal(id, 'approval', { by: 'ada' })
    // taken by `a` at its next poll, well before the delay ends
    await until(b, id, (run) => run.steps.find((s) => s.id === 'approval')?.status === 'succeeded', 2_000)
    const run = await until(b, id, (r) => r.status === 'succeeded', 10_000)
    expect(run).toMatchObject({ status: 'succeeded', output: 'ada' })
    const taken = await b.db.knex('signals').where({ run_id: id }).whereNotNull('taken_at')
    expect(taken).toHaveLength(1)
  })

  it('ends a parent waiting in one engine when its child ends in the other', async () => {
    const { workflow: gate } = await a.deploy(
      workflow('child-gate', [step('gate', 'flow.wait', { signal: 'open' })]),
    )
    const { workflow: parent } = await a.deploy(
      workflow('parent-of-gate', [step('call', 'workflow.run', { workflow: gate.id })]),
    )
    const { id } = await a.startRun(parent.id, {})
    let childId: string | undefined
    for (let i = 0; i < 100 && !childId; i++) {
      childId = (await a.getRun(id)).steps[0]?.childRunId
      if (!childId) await new Promise((r) => setTimeout(r, 20))
    }
    expect(childId).toBeDefined()
    // the child waits in `a` too: the signal through `b` reaches it through the database, and its
    // end reaches the parent in `a` the same way
    await b.signal(childId!, 'open', { ok: 1 })
    expect(await until(a, id, (run) => run.status === 'succeeded', 5_000)).toMatchObject({
      output: { ok: 1 },
    })
    expect(await b.getRun(childId!)).toMatchObject({ parentRunId: id, parentStepId: 'call' })
  })

  it('starts a child at the version the other engine deployed a moment ago', async () => {
    const kid = (value: string) =>
      workflow('kid', [step('set', 'data.set', { value })], { output: '{{ steps.set.output }}' })
    const first = kid('one')
    await a.deploy(first)
    const { workflow: parent } = await a.deploy(
      workflow('calls-kid', [step('call', 'workflow.run', { workflow: first.id })], {
        output: '{{ steps.call.output }}',
      }),
    )
    const childOutput = async () => {
      const { id } = await a.startRun(parent.id, {})
      return (await a.getRun(id, 5_000)).output
    }
    // `a` knows the child's current version now, and starts children without reading it
    expect(await childOutput()).toBe('one')
    expect(await childOutput()).toBe('one')
    await b.deploy({ ...kid('two'), id: first.id })
    // `b`'s notice reaches `a` within moments: long before a known version's time (1 s) is up
    const deployed = Date.now()
    let output: unknown
    do output = await childOutput()
    while (output !== 'two' && Date.now() - deployed < 3_000)
    expect(output).toBe('two')
    expect(Date.now() - deployed).toBeLessThan(300)
  })

  it('holds a workflow concurrency limit across both engines', async () => {
    const { workflow: wf } = await a.deploy(
      workflow('one-at-a-time', [step('wait', 'flow.delay', { for: '300ms' })], { concurrency: 1 }),
    )
    const started = await Promise.all([a, b, a, b].map((engine) => engine.startRun(wf.id, {})))
    let most = 0
    const deadline = Date.now() + 20_000
    for (;;) {
      const rows = await a.db.knex('runs').where({ workflow_id: wf.id }).select('status')
      const inFlight = rows.filter((r) => r.status === 'running' || r.status === 'waiting').length
      most = Math.max(most, inFlight)
      if (rows.every((r) => r.status === 'succeeded') || Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(most).toBe(1)
    for (const { id } of started) expect((await a.getRun(id)).status).toBe('succeeded')
  })
})
