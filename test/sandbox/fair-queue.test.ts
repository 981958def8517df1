import { describe, expect, it } from 'vitest'
import { defaultShare, FairQueue } from '../../src/sandbox/fair-queue.js'

/** Pushes `waiting` (workflow:item), takes `free` times, and lists what was taken in order. */
function takes(share: number, waiting: string[], free: number, running: string[] = []): string[] {
  const queue = new FairQueue<string>(share)
  for (const key of running) {
    queue.push(key, 'earlier')
    queue.take()
  }
  for (const entry of waiting) queue.push(entry.split(':')[0]!, entry)
  const taken: string[] = []
  for (let i = 0; i < free; i++) {
    const next = queue.take()
    if (next) taken.push(next.item)
  }
  return taken
}

describe('the fair queue of sandbox threads', () => {
  it.each([
    ['one workflow gets up to its share', 2, ['a:1', 'a:2', 'a:3'], 3, [], ['a:1', 'a:2']],
    ['workflows take turns', 2, ['a:1', 'a:2', 'b:1', 'b:2'], 3, [], ['a:1', 'b:1', 'a:2']],
    ['a workflow at its share waits while another goes', 1, ['a:2', 'b:1'], 2, ['a'], ['b:1']],
    ['a share of one serialises a workflow', 1, ['a:1', 'a:2'], 2, [], ['a:1']],
    ['nothing waiting, nothing taken', 2, [], 2, [], []],
  ])('%s', (_name, share, waiting, free, running, expected) => {
    expect(takes(share, waiting, free, running)).toEqual(expected)
  })

  it('frees a place in the share when an item is done', () => {
    const queue = new FairQueue<string>(1)
    queue.push('a', 'a:1')
    queue.push('a', 'a:2')
    expect(queue.take()?.item).toBe('a:1')
    expect(queue.take()).toBeUndefined()
    queue.done('a')
    expect(queue.take()?.item).toBe('a:2')
  })

  it('removes an item before its turn and drains the rest', () => {
    const queue = new FairQueue<string>(2)
    queue.push('a', 'a:1')
    queue.push('b', 'b:1')
    expect(queue.remove('a', 'a:1')).toBe(true)
    expect(queue.remove('a', 'a:1')).toBe(false)
    expect(queue.size).toBe(1)
    expect(queue.drain()).toEqual(['b:1'])
    expect(queue.size).toBe(0)
  })

  it.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [8, 7],
  ])('lets one workflow hold %i threads but one: %i', (threads, share) => {
    expect(defaultShare(threads)).toBe(share)
  })
})
