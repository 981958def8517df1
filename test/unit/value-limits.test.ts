// The shape limits of a value from outside, checked by a loop: depth, NUL, self-reference, expansion.
import { describe, expect, it } from 'vitest'
import { valueProblem } from '../../src/definition/value-limits.js'

const nest = (depth: number): unknown => {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

const loop: Record<string, unknown> = { a: 1 }
loop.self = { back: [loop] }
const shared = { n: 1 }

describe('valueProblem', () => {
  it.each([
    ['a number', 5, {}, undefined],
    ['a string with NUL', 'a\u0000', {}, { path: '$', message: expect.stringMatching(/NUL/) }],
    ['100 levels', nest(100), {}, undefined],
    [
      '101 levels',
      nest(101),
      {},
      { path: `${'[0]'.repeat(100)}`, message: 'is nested deeper than 100 levels' },
    ],
    [
      '10,000 levels',
      nest(10_000),
      {},
      { path: '[0]'.repeat(100), message: 'is nested deeper than 100 levels' },
    ],
    [
      'a long path, cut short',
      { ['k '.repeat(30)]: nest(20) },
      { maxDepth: 10 },
      {
        path: expect.stringMatching(/^\["(k ){20}…"\](\[0\])+$/),
        message: 'is nested deeper than 10 levels',
      },
    ],
    [
      'a path over 300 characters',
      nest(200),
      { maxDepth: 150 },
      { path: `${'[0]'.repeat(100)}…`, message: 'is nested deeper than 150 levels' },
    ],
    [
      '3 levels under a limit of 2',
      { a: { b: {} } },
      { maxDepth: 2 },
      { path: 'a.b', message: 'is nested deeper than 2 levels' },
    ],
    [
      'NUL in a key',
      { ok: { 'a b\u0000': 1 } },
      {},
      { path: 'ok["a b\\u0000"]', message: expect.stringMatching(/NUL/) },
    ],
    [
      'NUL in a string under a root',
      { list: ['x', 'y\u0000'] },
      { root: 'body' },
      { path: 'body.list[1]', message: expect.stringMatching(/NUL/) },
    ],
    [
      'a part inside itself',
      loop,
      { shared: true },
      { path: 'self.back[0]', message: expect.stringMatching(/refers to itself/) },
    ],
    ['a part used twice', { a: shared, b: [shared] }, { shared: true }, undefined],
    [
      'more values than allowed',
      { a: [1, 2, 3] },
      { maxValues: 3 },
      { path: 'a[1]', message: 'expands to more than 3 values' },
    ],
  ])('%s', (_what, value, limits, problem) => {
    expect(valueProblem(value, limits)).toEqual(problem)
  })
})
