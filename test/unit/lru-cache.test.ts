// The bounded cache of compiled workflow versions: what it keeps and what it drops, as a table of
// operations on a cache of capacity 2.
import { describe, expect, it } from 'vitest'
import { LruCache } from '../../src/runtime/lru-cache.js'

type Op = ['set', string, number] | ['get', string] | ['delete', string]

describe('LruCache', () => {
  const cases: [string, Op[], string[], (number | undefined)[]][] = [
    [
      'keeps entries up to its capacity',
      [
        ['set', 'a', 1],
        ['set', 'b', 2],
      ],
      ['a', 'b'],
      [],
    ],
    [
      'drops the least recently set entry past capacity',
      [
        ['set', 'a', 1],
        ['set', 'b', 2],
        ['set', 'c', 3],
        ['get', 'a'],
      ],
      ['b', 'c'],
      [undefined],
    ],
    [
      'counts a read as a use: the entry read stays',
      [
        ['set', 'a', 1],
        ['set', 'b', 2],
        ['get', 'a'],
        ['set', 'c', 3],
      ],
      ['a', 'c'],
      [1],
    ],
    [
      'counts setting an existing key as a use, and replaces its value',
      [
        ['set', 'a', 1],
        ['set', 'b', 2],
        ['set', 'a', 9],
        ['set', 'c', 3],
        ['get', 'a'],
      ],
      ['c', 'a'],
      [9],
    ],
    [
      'does not count a miss as a use',
      [
        ['set', 'a', 1],
        ['get', 'x'],
        ['set', 'b', 2],
        ['set', 'c', 3],
      ],
      ['b', 'c'],
      [undefined],
    ],
    [
      'frees the place of a deleted entry',
      [
        ['set', 'a', 1],
        ['set', 'b', 2],
        ['delete', 'a'],
        ['set', 'c', 3],
      ],
      ['b', 'c'],
      [],
    ],
  ]
  it.each(cases)('%s', (_name, ops, keys, reads) => {
    const cache = new LruCache<string, number>(2)
    const got: (number | undefined)[] = []
    for (const op of ops) {
      if (op[0] === 'set') cache.set(op[1], op[2])
      else if (op[0] === 'get') got.push(cache.get(op[1]))
      else cache.delete(op[1])
    }
    expect([...cache.keys()]).toEqual(keys)
    expect(cache.size).toBe(keys.length)
    expect(got).toEqual(reads)
  })

  it('refuses a capacity below one', () => {
    expect(() => new LruCache(0)).toThrow(RangeError)
  })
})
