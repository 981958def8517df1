// The planner and signals (v2): a wait takes the first signal of its name, buffered or not; a
// timeout fires `timeout` or fails; a child run's end is a signal too; each signal is taken once.
import { describe, expect, it } from 'vitest'
import type { ChildOutcome } from '../../src/runtime/state.js'
import type { RunEvent } from '../../src/runtime/transition.js'
import { abort, dispatch, ended, ev, TestRun, timer } from './run-harness.js'
import { step, workflow } from './workflows.js'

const waitStep = (id: string, fields: Record<string, unknown> = {}) =>
  step(id, { uses: 'flow.wait', with: { signal: 'approval', timeout: '1s' }, ...fields })

const waiting = (stepId: string, signal: string, until?: number, childRunId?: string): RunEvent => ({
  type: 'waiting',
  stepId,
  until,
  value: null,
  wait: { signal, until },
  childRunId,
})
const signal = (id: number, name: string, data: unknown): RunEvent => ({
  type: 'signal',
  signal: { id, name, data },
})

describe('a wait for a signal', () => {
  it('fires out with the data of the signal when it comes, and marks it taken', () => {
    const run = new TestRun(workflow([waitStep('w'), step('next', { needs: 'w' })]))
    run.send(ev.start())
    expect(run.send(waiting('w', 'approval', 1000)).effects).toEqual([timer('w', 1000)])
    expect(run.state.status).toBe('waiting')
    const t = run.send(signal(7, 'approval', { ok: true }), 5)
    expect(t.taken).toEqual([{ signalId: 7, stepId: 'w' }])
    expect(t.effects).toEqual([abort('w'), dispatch('next')])
    expect(run.step('w')).toMatchObject({ status: 'succeeded', handle: 'out', output: { ok: true } })
    expect(run.step('w').wait).toBeUndefined()
  })

  it('buffers a signal that comes first, in order, and the wait takes the oldest of its name at once', () => {
    const run = new TestRun(workflow([step('first'), waitStep('w', { needs: 'first' })]))
    run.send(ev.start())
    expect(run.send(signal(1, 'other', 'x')).taken).toEqual([])
    expect(run.send(signal(2, 'approval', 'a')).taken).toEqual([])
    run.send(signal(3, 'approval', 'b'))
    expect(run.state.signals.map((s) => s.id)).toEqual([1, 2, 3])
    run.send(ev.delivered('first', null))
    const t = run.send(waiting('w', 'approval', 1000))
    expect(t.taken).toEqual([{ signalId: 2, stepId: 'w' }])
    expect(t.effects).not.toContainEqual(timer('w', 1000))
    expect(run.step('w').output).toBe('a')
    expect(run.state.signals.map((s) => s.id)).toEqual([1, 3])
  })

  it('takes a signal once: the same signal delivered again changes nothing', () => {
    const run = new TestRun(workflow([waitStep('w'), waitStep('v')]))
    run.send(ev.start())
    run.send(waiting('w', 'approval'))
    run.send(waiting('v', 'approval'))
    expect(run.send(signal(4, 'approval', 1)).taken).toEqual([{ signalId: 4, stepId: 'w' }])
    expect(run.send(signal(4, 'approval', 1)).taken).toEqual([])
    expect(run.step('v').status).toBe('waiting')
    expect(run.send(signal(5, 'approval', 2)).taken).toEqual([{ signalId: 5, stepId: 'v' }])
  })

  it.each([
    [
      'with a step needing w:timeout, fires timeout',
      true,
      { w: 'succeeded', yes: 'skipped', late: 'running' },
    ],
    ['without, fails the run with TIMEOUT', false, { w: 'failed', yes: 'skipped' }],
  ] as const)('at its timeout %s', (_name, handled, statuses) => {
    const late = handled ? [step('late', { needs: 'w:timeout' })] : []
    const run = new TestRun(workflow([waitStep('w'), step('yes', { needs: 'w' }), ...late]))
    run.send(ev.start())
    run.send(waiting('w', 'approval', 1000))
    const t = run.send(ev.due('w'), 1000)
    expect(run.statuses()).toEqual(statuses)
    if (handled) expect(run.step('w')).toMatchObject({ handle: 'timeout', output: { timedOut: true } })
    else {
      expect(t.effects).toContainEqual(ended)
      expect(run.state.error).toMatchObject({ code: 'TIMEOUT', stepId: 'w' })
    }
  })

  it('after a restart, a waiting step takes a signal buffered meanwhile, and arms no timer without a timeout', () => {
    const run = new TestRun(workflow([waitStep('w', { with: { signal: 'approval' } })]))
    run.send(ev.start())
    run.send(waiting('w', 'approval'))
    expect(run.send(ev.resume()).effects).toEqual([])
    run.state.signals.push({ id: 9, name: 'approval', data: 'late' })
    const t = run.send(ev.resume())
    expect(t.taken).toEqual([{ signalId: 9, stepId: 'w' }])
    expect(run.state.status).toBe('succeeded')
  })
})

describe("a child run's end", () => {
  it('brings a parked forEach step back to running, leaving the end buffered for its items', () => {
    const run = new TestRun(
      workflow([step('each', { uses: 'workflow.run', forEach: [1, 2], with: { workflow: 'w' } })]),
    )
    run.send(ev.start())
    run.send(waiting('each', 'child:each'))
    const t = run.send(signal(3, 'child:each', { runId: 'k', status: 'succeeded' }))
    expect(t.taken).toEqual([])
    expect(t.effects).toEqual([dispatch('each')])
    expect(run.step('each').status).toBe('running')
    expect(run.state.signals.map((s) => s.id)).toEqual([3])
  })

  const wf = workflow([
    step('call', { uses: 'workflow.run', with: { workflow: 'child' } }),
    step('after', { needs: 'call' }),
  ])

  it("delivers the child's output on out", () => {
    const run = new TestRun(wf)
    run.send(ev.start())
    run.send(waiting('call', 'child:call', undefined, 'c1'))
    // the end of another child of the step (an earlier attempt's) is taken and changes nothing
    expect(run.send(signal(1, 'child:call', { runId: 'c0', status: 'failed' })).taken).toHaveLength(1)
    expect(run.step('call').status).toBe('waiting')
    run.send(signal(2, 'child:call', { runId: 'c1', status: 'succeeded', output: { n: 2 } }))
    expect(run.step('call')).toMatchObject({ status: 'succeeded', output: { n: 2 }, childRunId: 'c1' })
    expect(run.step('after').status).toBe('running')
  })

  it('fails the step with CHILD_FAILED, the child run and its error in details', () => {
    const run = new TestRun(wf)
    run.send(ev.start())
    run.send(waiting('call', 'child:call', undefined, 'c1'))
    const error = { code: 'E_CHILD', message: 'no' }
    run.send(signal(1, 'child:call', { runId: 'c1', status: 'failed', error }))
    expect(run.step('call').error).toMatchObject({ code: 'CHILD_FAILED', details: { runId: 'c1', error } })
    expect(run.state).toMatchObject({ status: 'failed', error: { code: 'CHILD_FAILED', stepId: 'call' } })
    expect(run.statuses()).toMatchObject({ after: 'skipped' })
  })
})

describe("a child run's end handed over in memory", () => {
  const wf = workflow([
    step('call', { uses: 'workflow.run', with: { workflow: 'child' } }),
    step('after', { needs: 'call' }),
    step('each', { uses: 'workflow.run', forEach: [1, 2], with: { workflow: 'child' } }),
  ])
  const childEnded = (stepId: string, outcome: ChildOutcome): RunEvent => ({
    type: 'childEnded',
    stepId,
    outcome,
  })
  const ok: ChildOutcome = { runId: 'c1', status: 'succeeded', output: { n: 2 } }

  // [what, the step's state before (waiting for child c1, or not), the event, the step after, the effects]
  const cases: [
    string,
    'waits' | 'runs' | 'waits-other' | 'foreach',
    RunEvent,
    Record<string, unknown>,
    unknown[],
  ][] = [
    [
      'delivers the output on out, taking no stored signal',
      'waits',
      childEnded('call', ok),
      { status: 'succeeded', output: { n: 2 }, childRunId: 'c1' },
      [abort('call'), dispatch('after')],
    ],
    [
      'fails the step with CHILD_FAILED',
      'waits',
      childEnded('call', { runId: 'c1', status: 'failed', error: { code: 'E', message: 'no' } }),
      { status: 'failed', error: { code: 'CHILD_FAILED', details: { runId: 'c1' } } },
      // the run fails: the forEach step still running is stopped too
      [abort('call'), abort('each'), ended],
    ],
    ['changes nothing for a step not waiting yet', 'runs', childEnded('call', ok), { status: 'running' }, []],
    [
      "changes nothing for another child's end",
      'waits-other',
      childEnded('call', ok),
      { status: 'waiting', childRunId: 'c0' },
      [],
    ],
    ['changes nothing for a forEach step', 'foreach', childEnded('each', ok), { status: 'waiting' }, []],
  ]

  it.each(cases)('%s', (_what, before, event, after, effects) => {
    const run = new TestRun(wf)
    run.send(ev.start())
    if (before === 'waits') run.send(waiting('call', 'child:call', undefined, 'c1'))
    if (before === 'waits-other') run.send(waiting('call', 'child:call', undefined, 'c0'))
    if (before === 'foreach') run.send(waiting('each', 'child:each', undefined, 'c1'))
    const stepId = (event as { stepId: string }).stepId
    const t = run.send(event)
    expect(t.taken).toEqual([])
    expect(t.effects).toEqual(effects)
    expect(run.step(stepId)).toMatchObject(after)
  })
})
