// The join rules and the inputs a step sees, as tables: decisions over counts of a mailbox, inputs
// over needs and mailboxes.
import { describe, expect, it } from 'vitest'
import type { Edge } from '../../src/definition/graph.js'
import { type JoinCount, joinDecision, stepInputs, withStoredInputs } from '../../src/runtime/join.js'
import type { Message } from '../../src/runtime/state.js'

const need = (from: string, handle = 'out'): Edge => ({ from, handle })
const got = (from: string, value: unknown, handle = 'out'): Message => ({
  from,
  handle,
  delivered: true,
  value,
})
const skip = (from: string, handle = 'out'): Message => ({ from, handle, delivered: false })

describe('joinDecision', () => {
  // needs, resolved (messages in the mailbox), delivered (those that carry a value)
  const count = (needs: number, resolved: number, delivered: number): JoinCount => ({
    needs,
    resolved,
    delivered,
  })
  const cases: [string, JoinCount, 'all' | 'any', 'wait' | 'run' | 'skip'][] = [
    ['all waits while no need resolved', count(2, 0, 0), 'all', 'wait'],
    ['all waits while one need is still unresolved', count(2, 1, 1), 'all', 'wait'],
    ['all waits on an unresolved need even when the other was skipped', count(2, 1, 0), 'all', 'wait'],
    ['all runs once every need delivered', count(2, 2, 2), 'all', 'run'],
    ['all runs when one need delivered and the other was skipped', count(2, 2, 1), 'all', 'run'],
    ['all skips when every need was skipped', count(2, 2, 0), 'all', 'skip'],
    ['any waits while no need resolved', count(2, 0, 0), 'any', 'wait'],
    ['any waits while only skips arrived', count(2, 1, 0), 'any', 'wait'],
    ['any runs on the first delivery, before the others resolve', count(2, 1, 1), 'any', 'run'],
    ['any runs when a delivery follows a skip', count(2, 2, 1), 'any', 'run'],
    ['any skips when every need was skipped', count(2, 2, 0), 'any', 'skip'],
    ['a single need that delivered runs', count(1, 1, 1), 'all', 'run'],
    ['a single need that was skipped skips', count(1, 1, 0), 'all', 'skip'],
    ['a wide all waits on its last need', count(10_000, 9_999, 9_999), 'all', 'wait'],
    ['a wide all runs on its last need, even a skip', count(10_000, 10_000, 9_999), 'all', 'run'],
    ['a wide any skips once the last of its skips arrives', count(10_000, 10_000, 0), 'any', 'skip'],
  ]
  it.each(cases)('%s', (_name, joinCount, join, decision) => {
    expect(joinDecision(joinCount, join)).toBe(decision)
  })
})

describe('stepInputs', () => {
  it('gives a root step the trigger output as input and no inputs', () => {
    expect(stepInputs([], [], { body: 1 })).toEqual({ input: { body: 1 }, inputs: {} })
  })

  const cases: [string, Edge[], Message[], { input: unknown; inputs: Record<string, unknown> }][] = [
    [
      'takes input from the first delivering need in needs order, not arrival order',
      [need('a'), need('b')],
      [got('b', 2), got('a', 1)],
      { input: 1, inputs: { a: 1, b: 2 } },
    ],
    [
      'passes over a skipped need for input and leaves it out of inputs',
      [need('a'), need('b')],
      [skip('a'), got('b', 2)],
      { input: 2, inputs: { b: 2 } },
    ],
    [
      'keeps a delivered null as the input rather than looking further',
      [need('a'), need('b')],
      [got('a', null), got('b', 2)],
      { input: null, inputs: { a: null, b: 2 } },
    ],
    [
      'keys inputs by step id when the need names a handle',
      [need('sw', 'x'), need('sw', 'y')],
      [skip('sw', 'x'), got('sw', 'v', 'y')],
      { input: 'v', inputs: { sw: 'v' } },
    ],
    [
      'gives a null input and no inputs when nothing delivered',
      [need('a')],
      [skip('a')],
      { input: null, inputs: {} },
    ],
    [
      'ignores unresolved needs (join any ran early)',
      [need('a'), need('b')],
      [got('b', 2)],
      { input: 2, inputs: { b: 2 } },
    ],
  ]
  it.each(cases)('%s', (_name, needs, mailbox, expected) => {
    expect(stepInputs(needs, mailbox, 'trigger')).toEqual(expected)
  })
})

describe('withStoredInputs', () => {
  const need = (from: string, handle = 'out'): Edge => ({ from, handle })
  const needsOf = new Map<string, Edge[]>([
    ['root', []],
    ['check', [need('root')]],
    ['big', [need('check', 'true')]],
    ['small', [need('check', 'false')]],
    ['merge', [need('big'), need('small')]],
    ['later', [need('merge')]],
  ])
  const run = () => [
    { id: 'root', status: 'succeeded', handle: 'out', output: { n: 5 } },
    { id: 'check', status: 'succeeded', handle: 'true', output: { n: 5 } },
    { id: 'big', status: 'succeeded', handle: 'out', output: 'big' },
    { id: 'small', status: 'skipped', output: null },
    { id: 'merge', status: 'running', output: null },
    { id: 'later', status: 'pending', output: null },
  ]

  it.each([
    { step: 'root', input: { n: 1 }, why: 'a root step gets the trigger output' },
    { step: 'check', input: { n: 5 }, why: 'a step gets its need’s output' },
    { step: 'big', input: { n: 5 }, why: 'the handle a branch fired delivers' },
    { step: 'small', input: undefined, why: 'a skipped step was given nothing' },
    { step: 'merge', input: 'big', why: 'the first delivering need in needs order' },
    { step: 'later', input: undefined, why: 'a pending step has no input yet' },
  ])('$step: $why', ({ step, input }) => {
    const steps: { id: string; status: string; handle?: string; output: unknown; input?: unknown }[] = run()
    withStoredInputs(steps, needsOf, { n: 1 })
    expect(steps.find((s) => s.id === step)?.input).toEqual(input)
  })
})
