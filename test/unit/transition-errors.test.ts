// The planner when things go wrong or wait: onError, retries, durable waits, cancellation, late answers.
import { describe, expect, it } from 'vitest'
import { jitterDraw } from '../../src/runtime/retry.js'
import { abort, dispatch, dispatched, ended, ev, TestRun, timer } from './run-harness.js'
import { step, workflow } from './workflows.js'

describe('a failed step', () => {
  it('with onError fail fails the run, cancels steps in flight and starts nothing new', () => {
    const run = new TestRun(workflow([step('a'), step('b'), step('c', { needs: 'a' })]))
    run.send(ev.start())
    const t = run.send(ev.failed('a', 'BOOM'), 9)
    expect(t.effects).toEqual([abort('b'), ended])
    expect(run.state).toMatchObject({
      status: 'failed',
      error: { code: 'BOOM', message: 'a failed', details: { why: 'test' }, stepId: 'a' },
    })
    expect(run.statuses()).toEqual({ a: 'failed', b: 'cancelled', c: 'skipped' })
    expect(run.step('a')).toMatchObject({ finishedAt: 9, error: { code: 'BOOM' } })
    expect(run.step('b')).toMatchObject({ finishedAt: 9, error: { code: 'CANCELLED' } })
  })

  it('with onError continue ends failed but delivers the error on out', () => {
    const run = new TestRun(workflow([step('a', { onError: 'continue' }), step('b', { needs: 'a' })]))
    run.send(ev.start())
    const t = run.send(ev.failed('a', 'BOOM'))
    const delivered = { error: { code: 'BOOM', message: 'a failed' } }
    expect(t.effects).toEqual([dispatch('b')])
    expect(run.step('a')).toMatchObject({ status: 'failed', handle: 'out', output: delivered })
    expect(run.step('b').mailbox).toEqual([{ from: 'a', handle: 'out', delivered: true, value: delivered }])
    expect(run.state.status).toBe('running')
  })

  it('with onError branch fires error with the error itself and skips out', () => {
    const run = new TestRun(
      workflow([
        step('a', { onError: 'branch' }),
        step('ok', { needs: 'a' }),
        step('handler', { needs: 'a:error' }),
      ]),
    )
    run.send(ev.start())
    const t = run.send(ev.failed('a', 'BOOM'))
    expect(t.effects).toEqual([dispatch('handler')])
    expect(run.statuses()).toEqual({ a: 'failed', ok: 'skipped', handler: 'running' })
    expect(run.step('handler').mailbox).toEqual([
      { from: 'a', handle: 'error', delivered: true, value: { code: 'BOOM', message: 'a failed' } },
    ])
  })
})

describe('retries', () => {
  const retrying = (retry: Record<string, unknown>, onError = 'fail') =>
    new TestRun(workflow([step('a', { retry, onError }), step('b', { needs: 'a' })]))

  it('turns a retryable failure into a wait until the backoff ends', () => {
    const run = retrying({ attempts: 3, delay: '1s' })
    run.send(ev.start(), 100)
    const t = run.send(ev.failed('a', 'FLAKY', true), 100)
    expect(t.effects).toEqual([timer('a', 1100)])
    expect(run.step('a')).toMatchObject({
      status: 'waiting',
      wakeAt: 1100,
      attempts: 1,
      error: { code: 'FLAKY' },
    })
    expect(run.state.status).toBe('waiting')
  })

  it('dispatches the step again when the backoff is due', () => {
    const run = retrying({ attempts: 3, delay: '1s' })
    run.sendAll([ev.start(), ev.failed('a', 'FLAKY', true)], 100)
    const t = run.send(ev.due('a'), 1100)
    expect(t.effects).toEqual([dispatch('a')])
    expect(run.step('a')).toMatchObject({ status: 'running', attempts: 2, startedAt: 100, wakeAt: undefined })
    expect(run.state.status).toBe('running')
  })

  it('doubles an exponential backoff each attempt and fails the run when attempts run out', () => {
    const run = retrying({ attempts: 4, backoff: 'exponential', delay: '1s', jitter: 'none' })
    run.send(ev.start(), 0)
    const wakes: number[] = []
    let now = 0
    for (let attempt = 1; attempt < 4; attempt++) {
      run.send(ev.failed('a', 'FLAKY', true), now)
      now = run.step('a').wakeAt!
      wakes.push(now)
      run.send(ev.due('a'), now)
    }
    expect(wakes).toEqual([1000, 3000, 7000])
    expect(run.send(ev.failed('a', 'FLAKY', true), now).effects).toEqual([ended])
    expect(run.state).toMatchObject({ status: 'failed', error: { code: 'FLAKY', stepId: 'a' } })
    expect(run.step('a').attempts).toBe(4)
  })

  it('draws an exponential wait under full jitter by default, the same for the same run, step and attempt', () => {
    const wakes = () => {
      const run = retrying({ attempts: 4, backoff: 'exponential', delay: '1s' })
      run.send(ev.start(), 0)
      const out: number[] = []
      let now = 0
      for (let attempt = 1; attempt < 4; attempt++) {
        run.send(ev.failed('a', 'FLAKY', true), now)
        const wake = run.step('a').wakeAt!
        out.push(wake - now)
        now = wake
        run.send(ev.due('a'), now)
      }
      return out
    }
    const waits = wakes()
    expect(waits).toEqual(
      [1000, 2000, 4000].map((cap, i) => Math.floor(cap * jitterDraw(`run-1:a:${i + 1}`))),
    )
    expect(wakes()).toEqual(waits)
  })

  it('waits as long as the failure asks when that is longer than the backoff', () => {
    const run = retrying({ attempts: 3, delay: '1s', maxDelay: '2s' })
    run.send(ev.start(), 0)
    expect(run.send(ev.failed('a', 'HTTP_429', true, 30_000), 50).effects).toEqual([timer('a', 30_050)])
  })

  it('fails at once on a failure that is not retryable', () => {
    const run = retrying({ attempts: 3 })
    run.send(ev.start())
    expect(run.send(ev.failed('a', 'HTTP_400', false)).effects).toEqual([ended])
    expect(run.state.status).toBe('failed')
  })

  it('clears the error when a retry delivers', () => {
    const run = retrying({ attempts: 3 })
    run.sendAll([ev.start(), ev.failed('a', 'FLAKY', true), ev.due('a')])
    expect(dispatched(run.send(ev.delivered('a', 'ok')))).toEqual(['b'])
    expect(run.step('a')).toMatchObject({ status: 'succeeded', attempts: 2, error: undefined })
  })

  it('applies onError once the attempts are used', () => {
    const run = retrying({ attempts: 2, delay: 0 }, 'continue')
    run.sendAll([ev.start(), ev.failed('a', 'FLAKY', true), ev.due('a'), ev.failed('a', 'FLAKY', true)])
    expect(run.step('a')).toMatchObject({
      status: 'failed',
      attempts: 2,
      output: { error: { code: 'FLAKY' } },
    })
    expect(run.step('b').status).toBe('running')
  })
})

describe('durable waits', () => {
  it('parks a step that asks to wait, leaving the run waiting on a timer', () => {
    const run = new TestRun(
      workflow([step('d', { uses: 'flow.delay', with: { for: '1m' } }), step('b', { needs: 'd' })]),
    )
    run.send(ev.start())
    const t = run.send(ev.waiting('d', 60_000, 'passed'))
    expect(t.effects).toEqual([timer('d', 60_000)])
    expect(run.step('d')).toMatchObject({ status: 'waiting', wakeAt: 60_000 })
    expect(run.state.status).toBe('waiting')
  })

  it('delivers the waited value on out when the wait is due', () => {
    const run = new TestRun(
      workflow([step('d', { uses: 'flow.delay', with: { for: '1m' } }), step('b', { needs: 'd' })]),
    )
    run.sendAll([ev.start(), ev.waiting('d', 60_000, 'passed')])
    const t = run.send(ev.due('d'), 60_000)
    expect(t.effects).toEqual([dispatch('b')])
    expect(run.step('d')).toMatchObject({
      status: 'succeeded',
      output: 'passed',
      handle: 'out',
      finishedAt: 60_000,
    })
    expect(run.step('b').mailbox[0]).toMatchObject({ delivered: true, value: 'passed' })
  })

  it('ignores a due event for a step that is not waiting', () => {
    const run = new TestRun(workflow([step('a')]))
    run.send(ev.start())
    expect(run.send(ev.due('a')).effects).toEqual([])
    expect(run.step('a')).toMatchObject({ status: 'running', attempts: 1 })
  })
})

describe('cancelling', () => {
  const threeSteps = () => {
    const run = new TestRun(
      workflow([
        step('a'),
        step('d', { uses: 'flow.delay', with: { for: '1m' } }),
        step('c', { needs: ['a', 'd'] }),
      ]),
    )
    run.sendAll([ev.start(), ev.waiting('d', 60_000, null)])
    return run
  }

  it('cancels running and waiting steps, aborting their work, and skips pending ones (NOT_RUN)', () => {
    const run = threeSteps()
    const t = run.send(ev.cancel(), 5)
    expect(t.effects).toEqual([abort('a'), abort('d'), ended])
    expect(run.statuses()).toEqual({ a: 'cancelled', d: 'cancelled', c: 'skipped' })
    expect(run.step('c').error).toMatchObject({ code: 'NOT_RUN' })
    expect(run.step('d').wakeAt).toBeUndefined()
    expect(run.state).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } })
  })

  it.each([
    ['delivery', ev.delivered('a', 'late')],
    ['failure', ev.failed('a', 'LATE')],
    ['wait', ev.waiting('a', 1, null)],
  ])('drops a late %s from a cancelled step', (_name, late) => {
    const run = threeSteps()
    run.send(ev.cancel())
    expect(run.send(late)).toEqual({ effects: [], changed: new Set(), taken: [] })
    expect(run.step('a')).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } })
    expect(run.step('a').output).toBeUndefined()
    expect(run.state.error?.code).toBe('CANCELLED')
  })

  it('drops a late answer from a step cancelled because a sibling failed', () => {
    const run = new TestRun(workflow([step('a'), step('b'), step('c', { needs: 'b' })]))
    run.sendAll([ev.start(), ev.failed('a', 'BOOM')])
    expect(run.send(ev.delivered('b', 'late')).effects).toEqual([])
    expect(run.statuses()).toEqual({ a: 'failed', b: 'cancelled', c: 'skipped' })
    expect(run.state.error).toMatchObject({ code: 'BOOM', stepId: 'a' })
  })

  it('ignores every event once the run has ended', () => {
    const run = threeSteps()
    run.send(ev.cancel())
    for (const event of [ev.start(), ev.due('d'), ev.cancel()]) expect(run.send(event).effects).toEqual([])
    expect(run.state.status).toBe('cancelled')
  })
})
