// Waiting for a run's end: each waiter is told once, of its own run, or nothing after its time;
// one that stops waiting is forgotten.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RunWaiters } from '../../src/runtime/run-waiters.js'
import type { RunState } from '../../src/runtime/state.js'

const ended = (id: string, status: RunState['status']): RunState => ({
  id,
  status,
  steps: new Map(),
  signals: [],
  depth: 0,
})

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('RunWaiters', () => {
  // [what, the runs waited for (id, ms), what happens, what each waiter gets (undefined: the time was up)]
  const cases: [string, [string, number][], (w: RunWaiters) => void, (RunState['status'] | undefined)[]][] = [
    [
      'tells a waiter its run ended',
      [['a', 1000]],
      (w) => w.ended('a', ended('a', 'succeeded')),
      ['succeeded'],
    ],
    [
      'tells every waiter of the run',
      [
        ['a', 1000],
        ['a', 5000],
      ],
      (w) => w.ended('a', ended('a', 'failed')),
      ['failed', 'failed'],
    ],
    [
      'tells only the waiters of the run that ended',
      [
        ['a', 1000],
        ['b', 1000],
      ],
      (w) => {
        w.ended('b', ended('b', 'cancelled'))
        vi.advanceTimersByTime(1000)
      },
      [undefined, 'cancelled'],
    ],
    [
      'answers nothing once the time is up, and the end after it changes nothing',
      [['a', 100]],
      (w) => {
        vi.advanceTimersByTime(100)
        w.ended('a', ended('a', 'succeeded'))
      },
      [undefined],
    ],
    [
      'answers the end that comes before the time is up',
      [['a', 100]],
      (w) => {
        vi.advanceTimersByTime(99)
        w.ended('a', ended('a', 'succeeded'))
      },
      ['succeeded'],
    ],
  ]

  it.each(cases)('%s', async (_what, waits, happen, expected) => {
    const waiters = new RunWaiters()
    const promises = waits.map(([id, ms]) => waiters.wait(id, ms).promise)
    happen(waiters)
    const got = await Promise.all(promises)
    expect(got.map((state) => state?.status)).toEqual(expected)
    // nobody is left waiting once every wait has ended
    expect(waiters.size).toBe(0)
  })

  it('forgets a waiter that stops waiting, and its timer', () => {
    const waiters = new RunWaiters()
    const wait = waiters.wait('a', 1000)
    let settled = false
    void wait.promise.then(() => {
      settled = true
    })
    wait.cancel()
    expect(waiters.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    waiters.ended('a', ended('a', 'succeeded'))
    expect(settled).toBe(false)
  })
})
