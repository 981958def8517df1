// Persistence as part of the planner's contract: a run's state survives JSON mid-run and resumes to
// the same end, whatever the point at which it was saved.
import { describe, expect, it } from 'vitest'
import { defaultRunOutput } from '../../src/runtime/output.js'
import type { RunState, StepState } from '../../src/runtime/state.js'
import type { Effect, RunEvent } from '../../src/runtime/transition.js'
import { ev, freshState, TestRun } from './run-harness.js'
import { step, workflow } from './workflows.js'

const wf = workflow([
  step('a'),
  step('big', { uses: 'flow.if', needs: 'a', with: { condition: '{{ input.n > 1 }}' } }),
  step('yes', { needs: 'big:true', retry: { attempts: 3, delay: '1s' } }),
  step('no', { needs: 'big:false' }),
  step('d', { uses: 'flow.delay', needs: 'a', with: { for: '1m' } }),
  step('done', { uses: 'flow.merge', needs: ['yes', 'no', 'd'] }),
])

const script: [RunEvent, number][] = [
  [ev.start(), 0],
  [ev.delivered('a', { n: 2 }), 10],
  [ev.waiting('d', 60_020, { n: 2 }), 20],
  [ev.delivered('big', { n: 2 }, 'true'), 30],
  [ev.failed('yes', 'FLAKY', true), 40],
  [ev.due('yes'), 1040],
  [ev.delivered('yes', 'approved'), 1050],
  [ev.due('d'), 60_020],
  [ev.delivered('done', { yes: 'approved', d: { n: 2 } }), 60_030],
]

const save = (state: RunState) => JSON.stringify({ ...state, steps: [...state.steps.values()] })

function restore(text: string): RunState {
  const saved = JSON.parse(text) as Omit<RunState, 'steps'> & { steps: StepState[] }
  return { ...saved, steps: new Map(saved.steps.map((s) => [s.id, s])) }
}

/** Plays the script from `from` on, returning every effect. */
function play(run: TestRun, from: number, to = script.length): Effect[] {
  return script.slice(from, to).flatMap(([event, now]) => run.send(event, now).effects)
}

describe('a run state saved as JSON', () => {
  const reference = new TestRun(wf)
  const referenceEffects = script.map(([event, now]) => reference.send(event, now).effects)

  it('runs the script to success without a save', () => {
    expect(reference.state.status).toBe('succeeded')
    expect(reference.statuses()).toEqual({
      a: 'succeeded',
      big: 'succeeded',
      yes: 'succeeded',
      no: 'skipped',
      d: 'succeeded',
      done: 'succeeded',
    })
    expect(defaultRunOutput(reference.state.steps, wf.dependents)).toEqual({ yes: 'approved', d: { n: 2 } })
  })

  it('holds a retry backoff and a durable wait when saved in the middle', () => {
    const run = new TestRun(wf)
    play(run, 0, 5)
    const restored = restore(save(run.state))
    expect(restored.status).toBe('waiting')
    expect(restored.steps.get('yes')).toMatchObject({
      status: 'waiting',
      wakeAt: 1040,
      error: { code: 'FLAKY' },
    })
    expect(restored.steps.get('d')).toMatchObject({ status: 'waiting', wakeAt: 60_020, output: { n: 2 } })
    expect(restored.steps.get('done')?.mailbox).toEqual([{ from: 'no', handle: 'out', delivered: false }])
  })

  it.each(script.map((_, i) => [i + 1]).slice(0, -1))('resumes after event %i to the same end', (cut) => {
    const before = new TestRun(wf)
    play(before, 0, cut)
    const resumed = new TestRun(wf, restore(save(before.state)))
    const effects = play(resumed, cut)
    expect(effects).toEqual(referenceEffects.slice(cut).flat())
    expect(JSON.parse(save(resumed.state))).toEqual(JSON.parse(save(reference.state)))
  })

  it('starts from a fresh state that survives JSON too', () => {
    const resumed = new TestRun(wf, restore(save(freshState(wf))))
    expect(play(resumed, 0)).toEqual(referenceEffects.flat())
    expect(JSON.parse(save(resumed.state))).toEqual(JSON.parse(save(reference.state)))
  })
})

describe('a jittered retry backoff saved as JSON', () => {
  const jittered = workflow([step('a', { retry: { attempts: 5, backoff: 'exponential', delay: '10s' } })])

  it('resumes to the due time drawn before the save, whenever the resume comes', () => {
    const run = new TestRun(jittered)
    run.send(ev.start(), 0)
    run.send(ev.failed('a', 'FLAKY', true), 100)
    const firstWake = run.step('a').wakeAt!
    run.send(ev.due('a'), firstWake)
    const failedAt = firstWake + 5
    run.send(ev.failed('a', 'FLAKY', true), failedAt)
    const wakeAt = run.step('a').wakeAt!
    // full jitter: somewhere under the 20 s backoff of the second attempt
    expect(wakeAt - failedAt).toBeLessThan(20_000)
    for (const later of [failedAt + 1, failedAt + 7_000]) {
      const resumed = new TestRun(jittered, restore(save(run.state)))
      expect(resumed.send(ev.resume(), later).effects).toContainEqual({
        type: 'timer',
        stepId: 'a',
        at: wakeAt,
      })
    }
  })
})
