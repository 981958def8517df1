// The planner on wide joins: a step's mailbox and its count of deliveries follow every message, so
// that a 10,000-way fan-in (or a skip travelling through 10,000 branches) is decided in linear time,
// live and after a restore from checkpoints.
import { describe, expect, it } from 'vitest'
import { stepInputs } from '../../src/runtime/join.js'
import { restoreRunState } from '../../src/runtime/restore.js'
import type { RunState } from '../../src/runtime/state.js'
import type { StepRow } from '../../src/store/checkpoints.js'
import { stepRow } from '../../src/store/step-rows.js'
import { dispatched, ended, ev, TestRun } from './run-harness.js'
import { step, workflow } from './workflows.js'

const WIDE = 10_000
/** Cubic join rules took minutes here; linear ones take milliseconds. Generous for a busy machine. */
const WIDE_BUDGET_MS = 3_000

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

/** `n` roots and a merge needing each of them (on `handle`, when the roots are flow.if). */
function fanIn(n: number, options: { join?: 'all' | 'any'; branching?: boolean } = {}) {
  const roots = ids('s', n).map((id) =>
    options.branching ? step(id, { uses: 'flow.if', with: { condition: true } }) : step(id),
  )
  const needs = roots.map((r) => (options.branching ? `${r.id}:true` : r.id))
  return workflow([...roots, step('merge', { uses: 'flow.merge', needs, join: options.join ?? 'all' })])
}

/** The step rows a supervisor would have checkpointed for this state. */
function rowsOf(state: RunState): StepRow[] {
  return [...state.steps.values()].filter((s) => s.status !== 'pending').map((s) => stepRow(state.id, s))
}

const deliveredIn = (run: TestRun, id: string) => run.step(id).mailbox.filter((m) => m.delivered).length

describe('a join over several handles of one step', () => {
  it('gets one message per handle needed and counts only the one that fired', () => {
    const run = new TestRun(
      workflow([
        step('sw', { uses: 'flow.switch', with: { value: 2, cases: { one: 1, two: 2 } } }),
        step('c', { needs: ['sw:one', 'sw:two'] }),
      ]),
    )
    run.send(ev.start())
    expect(dispatched(run.send(ev.delivered('sw', 'v', 'two')))).toEqual(['c'])
    expect(run.step('c')).toMatchObject({
      mailbox: [
        { from: 'sw', handle: 'one', delivered: false },
        { from: 'sw', handle: 'two', delivered: true, value: 'v' },
      ],
      deliveries: 1,
    })
  })

  it('puts no message in the mailbox of a step for a handle it does not need', () => {
    const run = new TestRun(
      workflow([
        step('sw', { uses: 'flow.switch', with: { value: 2, cases: { one: 1, two: 2 } } }),
        step('c', { needs: ['sw:one'] }),
      ]),
    )
    run.send(ev.start())
    run.send(ev.delivered('sw', 'v', 'two'))
    expect(run.step('c')).toMatchObject({
      status: 'skipped',
      mailbox: [{ from: 'sw', handle: 'one', delivered: false }],
      deliveries: 0,
    })
  })
})

describe(`a ${WIDE.toLocaleString('en-US')}-way fan-in`, () => {
  it('holds a join all until the last need and gives every input, in linear time', () => {
    const started = performance.now()
    const run = new TestRun(fanIn(WIDE))
    run.send(ev.start())
    for (const id of ids('s', WIDE - 1)) expect(run.send(ev.delivered(id, id)).effects).toEqual([])
    expect(run.step('merge')).toMatchObject({ status: 'pending', deliveries: WIDE - 1 })
    expect(dispatched(run.send(ev.delivered(`s${WIDE - 1}`, 'last')))).toEqual(['merge'])
    const merge = run.wf.byId.get('merge')!
    const { input, inputs } = stepInputs(merge.needs, run.step('merge').mailbox, null)
    expect(input).toBe('s0')
    expect(Object.keys(inputs)).toHaveLength(WIDE)
    expect(inputs[`s${WIDE - 1}`]).toBe('last')
    expect(run.send(ev.delivered('merge', inputs)).effects).toEqual([ended])
    expect(run.state.status).toBe('succeeded')
    expect(performance.now() - started).toBeLessThan(WIDE_BUDGET_MS)
  })

  it('runs a join any on its first delivery after thousands of skips, and skips one with none', () => {
    const half = new TestRun(fanIn(WIDE, { join: 'any', branching: true }))
    half.send(ev.start())
    for (const id of ids('s', WIDE / 2)) half.send(ev.delivered(id, null, 'false'))
    expect(half.step('merge')).toMatchObject({ status: 'pending', deliveries: 0 })
    expect(dispatched(half.send(ev.delivered(`s${WIDE / 2}`, 'yes', 'true')))).toEqual(['merge'])

    const none = new TestRun(fanIn(WIDE, { join: 'any', branching: true }))
    none.send(ev.start())
    for (const id of ids('s', WIDE)) none.send(ev.delivered(id, null, 'false'))
    expect(none.step('merge').status).toBe('skipped')
    expect(none.state.status).toBe('succeeded')
  })

  it('skips through a branch not taken into thousands of steps and out of their join', () => {
    const branches = ids('b', WIDE)
    const run = new TestRun(
      workflow([
        step('big', { uses: 'flow.if', with: { condition: true } }),
        ...branches.map((id) => step(id, { needs: 'big:false' })),
        step('after', { uses: 'flow.merge', needs: branches }),
      ]),
    )
    const started = performance.now()
    run.send(ev.start())
    const t = run.send(ev.delivered('big', null, 'true'))
    expect(t.effects).toEqual([ended])
    expect(t.changed.size).toBe(WIDE + 2)
    expect(run.step('after')).toMatchObject({ status: 'skipped', deliveries: 0 })
    expect(run.step('after').mailbox).toHaveLength(WIDE)
    expect(performance.now() - started).toBeLessThan(WIDE_BUDGET_MS)
  })

  it('rebuilds the same mailbox and count from checkpoints, and resumes to the merge', () => {
    const live = new TestRun(fanIn(WIDE))
    live.send(ev.start())
    for (const id of ids('s', WIDE / 2)) live.send(ev.delivered(id, { id }))

    const started = performance.now()
    const restored = new TestRun(live.wf, restoreRunState(live.wf, live.state, rowsOf(live.state)))
    expect(restored.step('merge').mailbox).toEqual(live.step('merge').mailbox)
    expect(restored.step('merge').deliveries).toBe(WIDE / 2)
    expect(deliveredIn(restored, 'merge')).toBe(WIDE / 2)
    // the steps still running run again; the merge waits for them
    expect(dispatched(restored.send(ev.resume()))).toEqual(ids('s', WIDE).slice(WIDE / 2))
    for (const id of ids('s', WIDE).slice(WIDE / 2)) restored.send(ev.delivered(id, { id }))
    expect(restored.step('merge')).toMatchObject({ status: 'running', deliveries: WIDE })
    expect(performance.now() - started).toBeLessThan(WIDE_BUDGET_MS)
  })

  it('keeps the count through JSON, as a saved state is read back', () => {
    const run = new TestRun(fanIn(3))
    run.sendAll([ev.start(), ev.delivered('s0', 0), ev.delivered('s1', 1)])
    const saved = JSON.parse(JSON.stringify({ ...run.state, steps: [...run.state.steps.values()] }))
    const state: RunState = { ...saved, steps: new Map(saved.steps.map((s: { id: string }) => [s.id, s])) }
    const again = new TestRun(run.wf, state)
    expect(again.step('merge').deliveries).toBe(2)
    expect(dispatched(again.send(ev.delivered('s2', 2)))).toEqual(['merge'])
    expect(again.state.status).toBe('running')
    expect(again.send(ev.delivered('merge', null)).effects).toEqual([ended])
  })
})
