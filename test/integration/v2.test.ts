// The v2 constructs through the engine API, beyond the conformance cases: sub-workflow limits and
// cancellation, `wait: false`, version pinning, forEach limits and retries, waits that passivate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import type { RunView } from '../../src/store/runs.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { step, stepOf, workflow } from './workflows.js'

let engine: Engine

beforeAll(async () => {
  engine = await Engine.open({
    databaseUrl: await freshDatabaseUrl(),
    threads: 1,
    maxItems: 100,
    maxDepth: 3,
    maxOutputBytes: 64 * 1024,
    pollMs: 50,
    passivateAfterMs: 200,
  })
  await engine.start()
})

afterAll(async () => {
  await engine?.close()
})

async function until(id: string, done: (run: RunView) => boolean, ms = 10_000): Promise<RunView> {
  const deadline = Date.now() + ms
  for (;;) {
    const run = await engine.getRun(id)
    if (done(run) || Date.now() > deadline) return run
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function runToEnd(definition: Record<string, unknown>, input: unknown = {}): Promise<RunView> {
  const { workflow: wf, version } = await engine.deploy(definition)
  const { id } = await engine.startRun(wf.id, input, { version })
  return until(id, (run) => ['succeeded', 'failed', 'cancelled'].includes(run.status), 20_000)
}

describe(`sub-workflows (${TEST_DB})`, () => {
  it('fails a workflow that calls itself with DEPTH_EXCEEDED past runs.maxDepth', async () => {
    const self = workflow('recurse', [])
    self.steps = [step('again', 'workflow.run', { workflow: self.id })]
    const run = await runToEnd(self)
    expect(run.status).toBe('failed')
    // the deepest run could not start its child; every run above fails with CHILD_FAILED
    expect(run.error).toMatchObject({ code: 'CHILD_FAILED' })
    const chain: RunView[] = [run]
    for (let next = stepOf(run, 'again').childRunId; next; ) {
      const child = await engine.getRun(next)
      chain.push(child)
      next = stepOf(child, 'again').childRunId
    }
    expect(chain).toHaveLength(4)
    expect(chain.at(-1)!.error).toMatchObject({ code: 'DEPTH_EXCEEDED' })
    expect(chain[1]).toMatchObject({ parentRunId: run.id, parentStepId: 'again' })
  })

  it('fails a step calling a workflow that does not exist with NOT_FOUND', async () => {
    const run = await runToEnd(
      workflow('calls-nothing', [step('call', 'workflow.run', { workflow: 'no-such-thing' })]),
    )
    expect(run.error).toMatchObject({ code: 'NOT_FOUND', stepId: 'call' })
  })

  it('with wait: false delivers { runId } at once, and the child runs on its own', async () => {
    const { workflow: slow } = await engine.deploy(
      workflow('slow-child', [step('pause', 'flow.delay', { for: '300ms' })]),
    )
    const run = await runToEnd(
      workflow('fire-and-forget', [step('call', 'workflow.run', { workflow: slow.id, wait: false })]),
    )
    expect(run.status).toBe('succeeded')
    const childId = (stepOf(run, 'call').output as { runId: string }).runId
    expect(stepOf(run, 'call').childRunId).toBe(childId)
    const child = await until(childId, (r) => r.status === 'succeeded')
    expect(child).toMatchObject({ status: 'succeeded', parentRunId: run.id })
  })

  it('runs the version it pins', async () => {
    const callee = workflow('versioned', [step('v', 'data.set', { value: 'one' })])
    await engine.deploy(callee)
    await engine.deploy({ ...callee, steps: [step('v', 'data.set', { value: 'two' })] })
    const pinned = await runToEnd(
      workflow('pins', [step('call', 'workflow.run', { workflow: callee.id, version: 1 })]),
    )
    const current = await runToEnd(
      workflow('current', [step('call', 'workflow.run', { workflow: callee.id })]),
    )
    expect(pinned.output).toBe('one')
    expect(current.output).toBe('two')
  })

  it('cancels the children it waits for when it is cancelled', async () => {
    const { workflow: gate } = await engine.deploy(
      workflow('gate', [step('wait', 'flow.wait', { signal: 'never' })]),
    )
    const { workflow: parent } = await engine.deploy(
      workflow('waits-for-gates', [step('calls', 'workflow.run', { workflow: gate.id }, {})], {}),
    )
    const { id } = await engine.startRun(parent.id, {})
    const waiting = await until(id, (run) => stepOf(run, 'calls').childRunId !== undefined)
    const childId = stepOf(waiting, 'calls').childRunId!
    await until(childId, (run) => run.status === 'waiting')
    await engine.cancelRun(id)
    expect((await engine.getRun(id)).status).toBe('cancelled')
    expect((await until(childId, (run) => run.status === 'cancelled')).status).toBe('cancelled')
  })
})

describe(`a forEach of sub-workflows that wait for people (${TEST_DB})`, () => {
  it('parks while every item waits for its child, leaves memory, and goes on as the children end', async () => {
    const { workflow: gate } = await engine.deploy(
      workflow('approve-one', [
        step('ok', 'flow.wait', { signal: 'ok' }),
        step('done', 'data.set', { value: '{{ trigger.n * 10 }}' }, { needs: ['ok'] }),
      ]),
    )
    const { workflow: parent } = await engine.deploy(
      workflow('approve-all', [
        {
          ...step('each', 'workflow.run', { workflow: gate.id, input: { n: '{{ item }}' } }),
          forEach: { items: '{{ input.orders }}', concurrency: 2 },
        },
      ]),
    )
    const { id } = await engine.startRun(parent.id, { orders: [1, 2, 3] })
    const parked = await until(id, (run) => stepOf(run, 'each').status === 'waiting')
    expect(parked.status).toBe('waiting')
    await until(id, () => false, 300)
    expect((await engine.db.knex('runs').where({ id }).first()).owner).toBeNull()
    const children = async () =>
      (await engine.db.knex('runs').where({ parent_run_id: id }).orderBy('created_at')) as { id: string }[]
    // two children at a time: approve them as they come
    const approved = new Set<string>()
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && (await engine.getRun(id)).status !== 'succeeded') {
      for (const child of await children()) {
        if (approved.has(child.id) || (await engine.getRun(child.id)).status !== 'waiting') continue
        approved.add(child.id)
        await engine.signal(child.id, 'ok', null)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const run = await engine.getRun(id)
    expect(run, JSON.stringify([run.error, run.steps])).toMatchObject({
      status: 'succeeded',
      output: [10, 20, 30],
    })
    expect(await children()).toHaveLength(3)
    expect(stepOf(run, 'each').items).toEqual({ total: 3, succeeded: 3, failed: 0, running: 0 })
  })
})

describe(`forEach (${TEST_DB})`, () => {
  it('fails with TOO_MANY_ITEMS over runs.maxItems', async () => {
    const run = await runToEnd(
      workflow('many', [{ ...step('each', 'data.set', { value: '{{ item }}' }), forEach: '{{ [1..101] }}' }]),
    )
    expect(run.error).toMatchObject({ code: 'TOO_MANY_ITEMS', stepId: 'each' })
  })

  it('fails with EXPRESSION when the items are not an array', async () => {
    const run = await runToEnd(
      workflow('not-array', [{ ...step('each', 'data.set', { value: 1 }), forEach: '{{ input.n }}' }]),
      { n: 5 },
    )
    expect(run.error).toMatchObject({ code: 'EXPRESSION', stepId: 'each' })
    expect((run.error as { message: string }).message).toContain('must be an array')
  })

  it('fails with OUTPUT_TOO_LARGE when the outputs together pass the output limit', async () => {
    const run = await runToEnd(
      workflow('big-items', [
        { ...step('each', 'code.run', { code: "return 'x'.repeat(2000)" }), forEach: '{{ [1..50] }}' },
      ]),
    )
    expect(run.error).toMatchObject({ code: 'OUTPUT_TOO_LARGE', stepId: 'each' })
  })

  it('retries each item by the step policy and counts its attempts', async () => {
    const run = await runToEnd(
      workflow('flaky-items', [
        {
          ...step('each', 'code.run', {
            code: "if (item === 2 && attempt < 3) throw new Error('flaky'); return item",
          }),
          forEach: [1, 2, 3],
          retry: { attempts: 3, delay: '10ms' },
        },
      ]),
    )
    expect(run).toMatchObject({ status: 'succeeded', output: [1, 2, 3] })
    const items = await engine.db.knex('step_items').where({ run_id: run.id }).orderBy('idx')
    expect(items.map((i) => Number(i.attempts))).toEqual([1, 3, 1])
    expect(stepOf(run, 'each').items).toEqual({ total: 3, succeeded: 3, failed: 0, running: 0 })
  })

  it('runs its items anew when the failed run is retried', async () => {
    const code = "if (item === 2 && Date.now() < trigger.until) throw new Error('not yet'); return item"
    const failed = await runToEnd(
      workflow('retried-items', [{ ...step('each', 'code.run', { code }), forEach: [1, 2, 3] }]),
      { until: Date.now() + 700 },
    )
    expect(failed.error).toMatchObject({ code: 'CODE', details: { index: 1 } })
    await new Promise((resolve) => setTimeout(resolve, 800))
    await engine.retryRun(failed.id)
    const run = await until(failed.id, (r) => r.status === 'succeeded')
    expect(run).toMatchObject({ status: 'succeeded', output: [1, 2, 3] })
    expect(stepOf(run, 'each').items).toEqual({ total: 3, succeeded: 3, failed: 0, running: 0 })
  })

  it('with onError branch fires error with the failed item and its index', async () => {
    const run = await runToEnd(
      workflow('branching-items', [
        {
          ...step('each', 'code.run', {
            code: "if (index === 1) throw new Error('no ' + item); return item",
          }),
          forEach: ['a', 'b'],
          onError: 'branch',
        },
        step('handled', 'data.set', { value: '{{ input.message }}' }, { needs: ['each:error'] }),
      ]),
    )
    expect(run).toMatchObject({ status: 'succeeded', output: 'no b' })
    expect(stepOf(run, 'each').error).toMatchObject({ code: 'CODE', details: { index: 1 } })
  })
})

describe(`flow.wait under serve-like polling (${TEST_DB})`, () => {
  it('leaves memory while it waits, and a signal brings it back', async () => {
    const { workflow: wf } = await engine.deploy(
      workflow('parked', [
        step('approval', 'flow.wait', { signal: 'ok' }),
        step('after', 'data.set', { value: '{{ input }}' }, { needs: ['approval'] }),
      ]),
    )
    const { id } = await engine.startRun(wf.id, {})
    await until(id, (run) => run.status === 'waiting')
    const row = await until(id, () => false, 300)
    expect(row.status).toBe('waiting')
    const held = await engine.db.knex('runs').where({ id }).first()
    expect(held.owner).toBeNull()
    expect(await engine.signal(id, 'ok', { by: 'ada' })).toEqual({ taken: 'approval' })
    const done = await until(id, (run) => run.status === 'succeeded')
    expect(done.output).toEqual({ by: 'ada' })
  })

  it('is taken back once when signals come one after another while it is being taken', async () => {
    const { workflow: wf } = await engine.deploy(
      workflow('two-gates', [
        step('a', 'flow.wait', { signal: 'a' }),
        step('b', 'flow.wait', { signal: 'b' }),
        step('c', 'flow.wait', { signal: 'c' }),
        step('after', 'data.set', { value: 'done' }, { needs: ['a', 'b', 'c'] }),
      ]),
    )
    const { id } = await engine.startRun(wf.id, {})
    await until(id, (run) => run.status === 'waiting')
    await until(id, () => false, 300)
    const before = await engine.db.knex('runs').where({ id }).first()
    expect(before.owner).toBeNull()
    // each signal is stored while the run is being taken back for the one before
    for (const name of ['a', 'b', 'c']) await engine.signal(id, name, null)
    // not after the lease runs out: a second take would have fenced out the first
    const done = await until(id, (run) => run.status === 'succeeded', 3000)
    expect(done.status).toBe('succeeded')
    const after = await engine.db.knex('runs').where({ id }).first()
    expect(Number(after.lease_epoch)).toBe(Number(before.lease_epoch) + 1)
  })

  it('refuses a signal to an ended run (409) and to a missing one (404)', async () => {
    const ended = await runToEnd(workflow('quick', [step('a', 'data.set', { value: 1 })]))
    await expect(engine.signal(ended.id, 'x', 1)).rejects.toMatchObject({ code: 'CONFLICT' })
    await expect(engine.signal('no-such-run', 'x', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
