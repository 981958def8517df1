// The join rules and the inputs a step sees, as tables over needs and mailboxes.
import { describe, expect, it } from 'vitest'
import type { Edge } from '../../src/definition/graph.js'
import { joinDecision, stepInputs } from '../../src/runtime/join.js'
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
  const ab = [need('a'), need('b')]
  const cases: [string, Edge[], Message[], 'all' | 'any', 'wait' | 'run' | 'skip'][] = [
    ['all waits while no need resolved', ab, [], 'all', 'wait'],
    ['all waits while one need is still unresolved', ab, [got('a', 1)], 'all', 'wait'],
    ['all waits on an unresolved need even when the other was skipped', ab, [skip('a')], 'all', 'wait'],
    ['all runs once every need delivered', ab, [got('a', 1), got('b', 2)], 'all', 'run'],
    [
      'all runs when one need delivered and the other was skipped',
      ab,
      [skip('a'), got('b', 2)],
      'all',
      'run',
    ],
    ['all skips when every need was skipped', ab, [skip('a'), skip('b')], 'all', 'skip'],
    ['any waits while no need resolved', ab, [], 'any', 'wait'],
    ['any waits while only skips arrived', ab, [skip('a')], 'any', 'wait'],
    ['any runs on the first delivery, before the others resolve', ab, [got('b', 2)], 'any', 'run'],
    ['any runs when a delivery follows a skip', ab, [skip('a'), got('b', 2)], 'any', 'run'],
    ['any skips when every need was skipped', ab, [skip('a'), skip('b')], 'any', 'skip'],
    ['a single need that delivered runs', [need('a')], [got('a', 1)], 'all', 'run'],
    ['a single need that was skipped skips', [need('a')], [skip('a')], 'all', 'skip'],
    [
      'a message on another handle does not resolve a need',
      [need('a', 'true')],
      [got('a', 1)],
      'all',
      'wait',
    ],
    [
      'a need on a named handle runs on that handle',
      [need('a', 'true')],
      [got('a', 1, 'true')],
      'all',
      'run',
    ],
    ['messages from steps not needed are ignored', [need('a')], [got('x', 1), skip('y')], 'all', 'wait'],
    [
      'two handles of one step are two needs',
      [need('s', 'x'), need('s', 'y')],
      [skip('s', 'x'), got('s', 1, 'y')],
      'all',
      'run',
    ],
  ]
  it.each(cases)('%s', (_name, needs, mailbox, join, decision) => {
    expect(joinDecision(needs, mailbox, join)).toBe(decision)
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
