// The planner on the happy paths: starting, delivering, joining, and skips travelling down branches.
import { describe, expect, it } from 'vitest'
import { dispatch, dispatched, ended, ev, TestRun } from './run-harness.js'
import { step, workflow } from './workflows.js'

describe('starting a run', () => {
  it('dispatches every root step and marks the run running', () => {
    const run = new TestRun(workflow([step('a'), step('b'), step('c', { needs: ['a', 'b'] })]))
    const t = run.send(ev.start(), 10)
    expect(t.effects).toEqual([dispatch('a'), dispatch('b')])
    expect([...t.changed]).toEqual(['a', 'b'])
    expect(run.state.status).toBe('running')
    expect(run.statuses()).toEqual({ a: 'running', b: 'running', c: 'pending' })
    expect(run.step('a')).toMatchObject({ attempts: 1, startedAt: 10 })
  })
})

describe('delivering a result', () => {
  it('records the output and handle, and passes the value to the dependent', () => {
    const run = new TestRun(workflow([step('a'), step('b', { needs: 'a' })]))
    run.send(ev.start())
    const t = run.send(ev.delivered('a', { n: 1 }), 5)
    expect(run.step('a')).toMatchObject({
      status: 'succeeded',
      handle: 'out',
      output: { n: 1 },
      finishedAt: 5,
    })
    expect(run.step('b').mailbox).toEqual([{ from: 'a', handle: 'out', delivered: true, value: { n: 1 } }])
    expect(t.effects).toEqual([dispatch('b')])
    expect([...t.changed].sort()).toEqual(['a', 'b'])
  })

  it('holds a join all until every need delivered', () => {
    const run = new TestRun(workflow([step('a'), step('b'), step('c', { needs: ['a', 'b'] })]))
    run.send(ev.start())
    expect(dispatched(run.send(ev.delivered('a', 1)))).toEqual([])
    expect(run.step('c').status).toBe('pending')
    expect(dispatched(run.send(ev.delivered('b', 2)))).toEqual(['c'])
  })

  it('ends the run as succeeded when its last step delivers', () => {
    const run = new TestRun(workflow([step('a'), step('b', { needs: 'a' })]))
    run.sendAll([ev.start(), ev.delivered('a', 1)])
    expect(run.state.status).toBe('running')
    expect(run.send(ev.delivered('b', 2)).effects).toEqual([ended])
    expect(run.state.status).toBe('succeeded')
  })

  it('drops a delivery from a step that was never dispatched', () => {
    const run = new TestRun(workflow([step('a'), step('b', { needs: 'a' })]))
    run.send(ev.start())
    const t = run.send(ev.delivered('b', 'early'))
    expect(t).toEqual({ effects: [], changed: new Set(), taken: [] })
    expect(run.step('b').status).toBe('pending')
    expect(run.step('b').output).toBeUndefined()
  })

  it('drops a second delivery from a step that already delivered', () => {
    const run = new TestRun(workflow([step('a'), step('b', { needs: 'a' })]))
    run.sendAll([ev.start(), ev.delivered('a', 1)])
    expect(run.send(ev.delivered('a', 2)).effects).toEqual([])
    expect(run.step('a').output).toBe(1)
    expect(run.step('b').mailbox).toHaveLength(1)
  })
})

describe('branches and skips', () => {
  // a → big ─true→ yes → yes2 ─┐
  //        └false→ no  → no2  ─┴→ done
  const branching = () =>
    new TestRun(
      workflow([
        step('a'),
        step('big', { uses: 'flow.if', needs: 'a', with: { condition: '{{ input > 1 }}' } }),
        step('yes', { needs: 'big:true' }),
        step('yes2', { needs: 'yes' }),
        step('no', { needs: 'big:false' }),
        step('no2', { needs: 'no' }),
        step('done', { needs: ['yes2', 'no2'] }),
      ]),
    )
  const cases: [string, string, string, string[]][] = [
    ['true', 'yes', 'yes2', ['no', 'no2']],
    ['false', 'no', 'no2', ['yes', 'yes2']],
  ]
  it.each(cases)(
    'on %s runs that branch, skips the other through its chain',
    (fired, first, second, skipped) => {
      const run = branching()
      run.sendAll([ev.start(), ev.delivered('a', 1)])
      expect(dispatched(run.send(ev.delivered('big', 1, fired)))).toEqual([first])
      for (const id of skipped) expect(run.step(id)).toMatchObject({ status: 'skipped', attempts: 0 })
      expect(run.step('done').status).toBe('pending')
      expect(dispatched(run.sendAll([ev.delivered(first, 2)]))).toEqual([second])
      expect(dispatched(run.sendAll([ev.delivered(second, 3)]))).toEqual(['done'])
      run.send(ev.delivered('done', 4))
      expect(run.state.status).toBe('succeeded')
    },
  )

  it('skips a whole chain below a branch not taken and ends the run', () => {
    const run = new TestRun(
      workflow([
        step('big', { uses: 'flow.if', with: { condition: true } }),
        step('x', { needs: 'big:false' }),
        step('y', { needs: 'x' }),
        step('z', { needs: ['y'], join: 'any' }),
      ]),
    )
    run.send(ev.start())
    const t = run.send(ev.delivered('big', null, 'true'), 7)
    expect(run.statuses()).toEqual({ big: 'succeeded', x: 'skipped', y: 'skipped', z: 'skipped' })
    expect(run.step('z').finishedAt).toBe(7)
    expect([...t.changed].sort()).toEqual(['big', 'x', 'y', 'z'])
    expect(t.effects).toEqual([ended])
    expect(run.state.status).toBe('succeeded')
  })

  it('fires one case of a switch and skips the other cases and default', () => {
    const run = new TestRun(
      workflow([
        step('sw', { uses: 'flow.switch', with: { value: 2, cases: { one: 1, two: 2 } } }),
        step('one', { needs: 'sw:one' }),
        step('two', { needs: 'sw:two' }),
        step('other', { needs: 'sw:default' }),
      ]),
    )
    run.send(ev.start())
    expect(dispatched(run.send(ev.delivered('sw', 'x', 'two')))).toEqual(['two'])
    expect(run.statuses()).toMatchObject({ one: 'skipped', two: 'running', other: 'skipped' })
  })

  it('runs a join any on the first delivery and ignores later ones', () => {
    const run = new TestRun(workflow([step('a'), step('b'), step('c', { needs: ['a', 'b'], join: 'any' })]))
    run.send(ev.start())
    expect(dispatched(run.send(ev.delivered('b', 2)))).toEqual(['c'])
    const later = run.send(ev.delivered('a', 1))
    expect(dispatched(later)).toEqual([])
    expect(run.step('c')).toMatchObject({ status: 'running', attempts: 1 })
    run.send(ev.delivered('c', 3))
    expect(run.state.status).toBe('succeeded')
  })

  it('skips a join any whose needs were all skipped', () => {
    const run = new TestRun(
      workflow([
        step('big', { uses: 'flow.if', with: { condition: true } }),
        step('x', { needs: 'big:false' }),
        step('y', { needs: 'big:false' }),
        step('z', { needs: ['x', 'y'], join: 'any' }),
      ]),
    )
    run.send(ev.start())
    run.send(ev.delivered('big', null, 'true'))
    expect(run.step('z').status).toBe('skipped')
  })

  it('runs a join all when one need delivered and the other was skipped', () => {
    const run = new TestRun(
      workflow([
        step('big', { uses: 'flow.if', with: { condition: true } }),
        step('x', { needs: 'big:true' }),
        step('y', { needs: 'big:false' }),
        step('z', { needs: ['x', 'y'] }),
      ]),
    )
    run.send(ev.start())
    run.send(ev.delivered('big', null, 'true'))
    expect(dispatched(run.send(ev.delivered('x', 1)))).toEqual(['z'])
    expect(run.step('z').mailbox).toEqual([
      { from: 'y', handle: 'out', delivered: false, value: undefined },
      { from: 'x', handle: 'out', delivered: true, value: 1 },
    ])
  })
})
