// The planner on resume after a crash: an attempt found `running` counts as interrupted, and one
// interrupted `maxInterruptions` times fails with CRASHED (following onError, never retried)
// instead of being run again, so that a step that kills the engine cannot crash-loop it.
import { describe, expect, it } from 'vitest'
import type { CompiledWorkflow } from '../../src/definition/compile.js'
import { resetForRetry, restoreRunState } from '../../src/runtime/restore.js'
import type { RunState } from '../../src/runtime/state.js'
import { stepRow } from '../../src/store/step-rows.js'
import { abort, dispatch, dispatched, ended, ev, TestRun, timer } from './run-harness.js'
import { step, workflow } from './workflows.js'

const CRASHED = {
  code: 'CRASHED',
  message:
    "the step's attempt was interrupted 2 times (the engine stopped while it ran); not running it again",
}

/** A run whose step `a` is running, its attempt interrupted `before` times already. */
function runningA(wf: CompiledWorkflow, before: number): TestRun {
  const run = new TestRun(wf)
  run.send(ev.start(), 10)
  run.step('a').interruptions = before
  return run
}

describe('resuming a run whose process died', () => {
  const single = () => workflow([step('a'), step('b', { needs: 'a' })])

  it.each([
    // before, limit, what follows, interruptions after
    [0, 2, 'runs again', 1],
    [0, 1, 'crashes', 1],
    [1, 2, 'crashes', 2],
    [1, 3, 'runs again', 2],
    [5, 2, 'crashes', 6], // the limit was lowered meanwhile
  ] as const)(
    'with %i interruption(s) before and a limit of %i, the attempt %s',
    (before, limit, outcome, after) => {
      const run = runningA(single(), before)
      const t = run.send(ev.resume(limit), 20)
      expect(run.step('a').interruptions).toBe(after)
      expect(t.changed.has('a')).toBe(true)
      if (outcome === 'runs again') {
        expect(t.effects).toEqual([dispatch('a')])
        expect(run.step('a')).toMatchObject({ status: 'running', attempts: 1 })
        expect(run.state.status).toBe('running')
      } else {
        expect(t.effects).toEqual([ended])
        expect(run.step('a')).toMatchObject({ status: 'failed', attempts: 1, finishedAt: 20 })
        expect(run.step('a').error?.code).toBe('CRASHED')
        expect(run.state).toMatchObject({ status: 'failed', error: { code: 'CRASHED', stepId: 'a' } })
      }
    },
  )

  it('counts nothing on a resume without a limit (a run let go of cleanly), and runs the step again', () => {
    const run = runningA(single(), 1)
    const t = run.send(ev.resume(), 20)
    expect(t.effects).toEqual([dispatch('a')])
    expect([...t.changed]).toEqual([])
    expect(run.step('a').interruptions).toBe(1)
  })

  it.each([
    [1, 2, CRASHED.message],
    [0, 1, CRASHED.message.replace('2 times', 'once')],
  ])('says how often the attempt was interrupted (%i before, limit %i)', (before, limit, message) => {
    const run = runningA(single(), before)
    run.send(ev.resume(limit))
    expect(run.step('a').error).toEqual({ code: 'CRASHED', message })
  })

  it('does not retry a crashed attempt, whatever its retry policy', () => {
    const run = runningA(workflow([step('a', { retry: { attempts: 5, delay: '1s' } })]), 1)
    expect(run.send(ev.resume(2), 20).effects).toEqual([ended])
    expect(run.step('a')).toMatchObject({ status: 'failed', attempts: 1, wakeAt: undefined })
  })

  it.each([
    // onError, status of the run, what the dependents came to (`handler` needs a:error)
    ['fail', 'failed', { ok: 'skipped' }],
    ['continue', 'running', { ok: 'running' }],
    ['branch', 'running', { ok: 'skipped', handler: 'running' }],
  ] as const)('follows onError %s', (onError, runStatus, dependents) => {
    const handler = onError === 'branch' ? [step('handler', { needs: 'a:error' })] : []
    const wf = workflow([step('a', { onError }), step('ok', { needs: 'a' }), ...handler])
    const run = runningA(wf, 1)
    const t = run.send(ev.resume(2), 20)
    expect(run.state.status).toBe(runStatus)
    expect(run.statuses()).toEqual({ a: 'failed', ...dependents })
    const started = Object.entries(dependents).flatMap(([id, s]) => (s === 'running' ? [id] : []))
    expect(dispatched(t)).toEqual(started)
  })

  it('delivers the CRASHED error on out with onError continue', () => {
    const run = runningA(workflow([step('a', { onError: 'continue' }), step('b', { needs: 'a' })]), 1)
    run.send(ev.resume(2))
    expect(run.step('a')).toMatchObject({ status: 'failed', handle: 'out', output: { error: CRASHED } })
    expect(run.step('b').mailbox).toEqual([
      { from: 'a', handle: 'out', delivered: true, value: { error: CRASHED } },
    ])
  })

  it('counts a step started by a crashed step once it runs, never as interrupted', () => {
    const wf = workflow([step('a', { onError: 'branch' }), step('handler', { needs: 'a:error' })])
    const run = runningA(wf, 1)
    const t = run.send(ev.resume(2))
    expect(t.effects).toEqual([dispatch('handler')])
    expect(run.step('handler')).toMatchObject({ status: 'running', attempts: 1, interruptions: 0 })
  })

  it('cancels the steps in flight with a crash that fails the run, and dispatches none of them', () => {
    const wf = workflow([step('a'), step('b'), step('d', { uses: 'flow.delay', with: { for: '1m' } })])
    const run = new TestRun(wf)
    run.sendAll([ev.start(), ev.waiting('d', 60_000, null)])
    run.step('a').interruptions = 1
    const t = run.send(ev.resume(2), 20)
    expect(t.effects).toEqual([abort('b'), abort('d'), ended])
    expect(run.statuses()).toEqual({ a: 'failed', b: 'cancelled', d: 'cancelled' })
  })

  it('runs the others again and re-arms timers when the crashed step continues', () => {
    const wf = workflow([
      step('a', { onError: 'continue' }),
      step('b'),
      step('d', { uses: 'flow.delay', with: { for: '1m' } }),
    ])
    const run = new TestRun(wf)
    run.sendAll([ev.start(), ev.waiting('d', 60_000, null)])
    run.step('a').interruptions = 1
    const t = run.send(ev.resume(2), 20)
    expect(t.effects).toEqual([dispatch('b'), timer('d', 60_000)])
    expect(run.step('b').interruptions).toBe(1)
    expect([...t.changed].sort()).toEqual(['a', 'b'])
    expect(run.state.status).toBe('running')
  })

  it('starts a new attempt at 0 interruptions after a retry backoff', () => {
    const run = runningA(workflow([step('a', { retry: { attempts: 3, delay: '1s' } })]), 0)
    run.send(ev.resume(2), 20)
    expect(run.step('a').interruptions).toBe(1)
    run.send(ev.failed('a', 'FLAKY', true), 30)
    run.send(ev.due('a'), 1030)
    expect(run.step('a')).toMatchObject({ status: 'running', attempts: 2, interruptions: 0 })
    expect(run.send(ev.resume(2), 1040).effects).toEqual([dispatch('a')])
  })
})

/**
 * Checkpoints every step as the supervisor does, reads the rows back as the PostgreSQL driver
 * returns them (bigint columns as text), and rebuilds the state as the engine does on restart.
 */
function crashAndRestore(wf: CompiledWorkflow, state: RunState): RunState {
  const rows = [...state.steps.values()]
    .filter((s) => s.status !== 'pending')
    .map((s) => stepRow(state.id, s))
  const stored = JSON.parse(
    JSON.stringify(rows, (key, value) =>
      ['wake_at', 'started_at', 'finished_at'].includes(key) && typeof value === 'number'
        ? String(value)
        : value,
    ),
  )
  return restoreRunState(wf, { id: state.id, status: state.status }, stored)
}

describe('interruptions across checkpoints, restored as on a restart', () => {
  const wf = workflow([step('a', { retry: { attempts: 3, delay: '1s' } }), step('b', { needs: 'a' })])

  it('fails the attempt with CRASHED at the second crash, after one run again', () => {
    const run = new TestRun(wf)
    run.send(ev.start(), 10)
    const first = new TestRun(wf, crashAndRestore(wf, run.state))
    expect(first.send(ev.resume(2), 20).effects).toEqual([dispatch('a')])
    expect(first.step('a')).toMatchObject({ status: 'running', attempts: 1, interruptions: 1 })

    const second = new TestRun(wf, crashAndRestore(wf, first.state))
    expect(second.step('a').interruptions).toBe(1)
    expect(second.send(ev.resume(2), 30).effects).toEqual([ended])
    expect(second.step('a')).toMatchObject({ status: 'failed', attempts: 1, error: CRASHED })
    expect(second.state).toMatchObject({ status: 'failed', error: { ...CRASHED, stepId: 'a' } })

    // the end is checkpointed too: a later restore finds the run failed, and resumes nothing
    const after = new TestRun(wf, crashAndRestore(wf, second.state))
    expect(after.step('a')).toMatchObject({ status: 'failed', interruptions: 2 })
    expect(after.send(ev.resume(2)).effects).toEqual([])
  })

  it('gives a run retried after a crash a fresh count: it crashes again only after two more', () => {
    const run = new TestRun(wf)
    run.send(ev.start(), 10)
    let state = crashAndRestore(wf, run.state)
    new TestRun(wf, state).send(ev.resume(2), 20)
    state = crashAndRestore(wf, state)
    new TestRun(wf, state).send(ev.resume(2), 30)
    expect(state.status).toBe('failed')

    const retried = crashAndRestore(wf, state)
    // b never ran (the run failed first): it goes back to pending as well
    expect(resetForRetry(retried)).toEqual(['a', 'b'])
    expect(retried.steps.get('a')).toMatchObject({ status: 'pending', interruptions: 0 })
    const again = new TestRun(wf, crashAndRestore(wf, retried))
    expect(again.send(ev.resume(), 40).effects).toEqual([dispatch('a')])
    expect(again.step('a')).toMatchObject({ status: 'running', attempts: 1, interruptions: 0 })
    const once = new TestRun(wf, crashAndRestore(wf, again.state))
    expect(once.send(ev.resume(2), 50).effects).toEqual([dispatch('a')])
    expect(once.step('a').interruptions).toBe(1)
  })
})
