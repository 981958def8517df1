// The current versions a process knows without a read: kept only while every change can be heard,
// never from a read that a change overtook, and not past their time.
import { describe, expect, it } from 'vitest'
import { KnownVersions } from '../../src/store/known-versions.js'

const TTL = 1_000

/** What happens, in order: a read that begins, a read that ends (keeping its version), or an event. */
type Event =
  | ['begin', string]
  | ['end', string, number]
  | ['changed', string]
  | ['reset', boolean]
  | ['wait', number]

describe('KnownVersions', () => {
  // [what, heard from the start, events, the version known of 'w' at the end]
  const cases: [string, boolean, Event[], number | undefined][] = [
    ['knows nothing it has not read', true, [], undefined],
    [
      'knows what it read while changes are heard',
      true,
      [
        ['begin', 'r'],
        ['end', 'r', 3],
      ],
      3,
    ],
    [
      'keeps nothing while changes go unheard',
      false,
      [
        ['begin', 'r'],
        ['end', 'r', 3],
      ],
      undefined,
    ],
    [
      'forgets a workflow that changed',
      true,
      [
        ['begin', 'r'],
        ['end', 'r', 3],
        ['changed', 'w'],
      ],
      undefined,
    ],
    [
      'never keeps a read that a change overtook',
      true,
      [
        ['begin', 'r'],
        ['changed', 'w'],
        ['end', 'r', 3],
      ],
      undefined,
    ],
    [
      'never keeps a read that a gap in hearing overtook',
      true,
      [
        ['begin', 'r'],
        ['reset', false],
        ['reset', true],
        ['end', 'r', 3],
      ],
      undefined,
    ],
    [
      'forgets everything when changes may go unheard',
      true,
      [
        ['begin', 'r'],
        ['end', 'r', 3],
        ['reset', false],
      ],
      undefined,
    ],
    [
      'knows again what it reads once changes are heard again',
      false,
      [
        ['reset', true],
        ['begin', 'r'],
        ['end', 'r', 4],
      ],
      4,
    ],
    [
      'keeps a read begun after a change',
      true,
      [
        ['changed', 'w'],
        ['begin', 'r'],
        ['end', 'r', 5],
      ],
      5,
    ],
    [
      'forgets a version past its time',
      true,
      [
        ['begin', 'r'],
        ['end', 'r', 3],
        ['wait', TTL],
      ],
      undefined,
    ],
    [
      'knows a version within its time',
      true,
      [
        ['begin', 'r'],
        ['end', 'r', 3],
        ['wait', TTL - 1],
      ],
      3,
    ],
  ]

  it.each(cases)('%s', (_what, heard, events, expected) => {
    let now = 0
    const known = new KnownVersions<number>(heard, TTL, () => now)
    const tokens = new Map<string, number>()
    for (const event of events) {
      if (event[0] === 'begin') tokens.set(event[1], known.token())
      else if (event[0] === 'end') known.fill('w', event[2], tokens.get(event[1])!)
      else if (event[0] === 'changed') known.changed(event[1])
      else if (event[0] === 'reset') known.reset(event[1])
      else now += event[1]
    }
    expect(known.get('w')).toBe(expected)
  })
})
