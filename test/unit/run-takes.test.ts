import { describe, expect, it } from 'vitest'
import { RunTakes } from '../../src/runtime/run-takes.js'

describe('RunTakes', () => {
  it.each([
    { name: 'marks runs nobody is taking', busy: [], begin: ['a', 'b'], marked: ['a', 'b'] },
    { name: 'skips runs being taken', busy: ['a'], begin: ['a', 'b'], marked: ['b'] },
    { name: 'marks a run once', busy: [], begin: ['a', 'a'], marked: ['a'] },
    { name: 'marks nothing when all are being taken', busy: ['a', 'b'], begin: ['b', 'a'], marked: [] },
  ])('$name', ({ busy, begin, marked }) => {
    const takes = new RunTakes()
    takes.begin(busy)
    expect(takes.begin(begin)).toEqual(marked)
    for (const id of begin) expect(takes.has(id)).toBe(true)
  })

  it('settles a run once its take ends, and lets it be taken again', async () => {
    const takes = new RunTakes()
    takes.begin(['a'])
    const order: string[] = []
    const settled = takes.settled('a').then(() => order.push('settled'))
    await Promise.resolve()
    order.push('ending')
    takes.end(['a'])
    await settled
    expect(order).toEqual(['ending', 'settled'])
    expect(takes.has('a')).toBe(false)
    expect(takes.begin(['a'])).toEqual(['a'])
  })

  it('settles at once a run nobody is taking', async () => {
    await expect(new RunTakes().settled('x')).resolves.toBeUndefined()
  })
})
