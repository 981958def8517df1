// The item loop of a `forEach` step: order, concurrency, retries, onError, items restored from
// their checkpoints. Attempts here are plain functions; the loop is the engine's own.
import { describe, expect, it } from 'vitest'
import {
  type ForEachRun,
  type ItemAttempt,
  type ItemResult,
  itemError,
  itemSlot,
  runItems,
} from '../../src/runtime/for-each.js'

const fail = (message: string, retryable = false): ItemAttempt => ({
  ok: false,
  error: { code: 'CODE', message },
  retryable,
})

function loop(overrides: Partial<ForEachRun> & Pick<ForEachRun, 'items'>) {
  const ended: ItemResult[] = []
  const calls: string[] = []
  const run: ForEachRun = {
    concurrency: 10,
    onError: 'fail',
    finished: new Map(),
    attempt: async (index, item, attempt) => {
      calls.push(`${index}.${attempt}`)
      return { ok: true, value: `${String(item)}!` }
    },
    retryDelay: () => undefined,
    ended: (r) => ended.push(r),
    signal: new AbortController().signal,
    ...overrides,
  }
  return { run, ended, calls }
}

describe('the items of a forEach step', () => {
  it('keep item order in the output whatever order they end in, at most `concurrency` at once', async () => {
    let running = 0
    let most = 0
    const { run, ended } = loop({
      items: [30, 1, 15, 0, 5],
      concurrency: 2,
      attempt: async (_i, ms) => {
        most = Math.max(most, ++running)
        await new Promise((resolve) => setTimeout(resolve, ms as number))
        running--
        return { ok: true, value: ms }
      },
    })
    expect(await runItems(run)).toEqual({ ok: true, outputs: [30, 1, 15, 0, 5] })
    expect(most).toBe(2)
    expect(ended.map((r) => r.index).sort()).toEqual([0, 1, 2, 3, 4])
  })

  it('gives [] for no items at once', async () => {
    const { run, calls } = loop({ items: [] })
    expect(await runItems(run)).toEqual({ ok: true, outputs: [] })
    expect(calls).toEqual([])
  })

  it.each([
    // onError, outcome, slots run
    ['fail', { ok: false, error: { code: 'CODE', message: 'bad b', details: { index: 1 } } }, ['0.1', '1.1']],
    [
      'branch',
      { ok: false, error: { code: 'CODE', message: 'bad b', details: { index: 1 } } },
      ['0.1', '1.1'],
    ],
    [
      'continue',
      { ok: true, outputs: ['a!', { error: { code: 'CODE', message: 'bad b' } }, 'c!'] },
      ['0.1', '1.1', '2.1'],
    ],
  ] as const)('with onError %s, a failed item gives %j', async (onError, outcome, calls) => {
    const { run, calls: made } = loop({
      items: ['a', 'b', 'c'],
      concurrency: 1,
      onError,
      attempt: async (index, item, attempt) => {
        made.push(`${index}.${attempt}`)
        return item === 'b' ? fail('bad b') : { ok: true, value: `${String(item)}!` }
      },
    })
    expect(await runItems(run)).toEqual(outcome)
    expect(made).toEqual(calls)
  })

  it('retries an item by the step policy, each item on its own', async () => {
    const { run, calls, ended } = loop({
      items: ['a', 'b'],
      concurrency: 1,
      retryDelay: (_index, attempt, failure) => (failure.retryable && attempt < 3 ? 1 : undefined),
      attempt: async (index, item, attempt) => {
        calls.push(`${index}.${attempt}`)
        return item === 'b' && attempt < 3 ? fail('flaky', true) : { ok: true, value: attempt }
      },
    })
    expect(await runItems(run)).toEqual({ ok: true, outputs: [1, 3] })
    expect(calls).toEqual(['0.1', '1.1', '1.2', '1.3'])
    expect(ended.find((r) => r.index === 1)).toMatchObject({ ok: true, attempts: 3 })
  })

  it('does not run again the items that ended before a restart, and keeps their outputs', async () => {
    const finished = new Map<number, ItemResult>([
      [0, { index: 0, ok: true, attempts: 1, output: 'kept' }],
      [2, { index: 2, ok: false, attempts: 2, error: { code: 'X', message: 'was bad' } }],
    ])
    const { run, calls, ended } = loop({ items: ['a', 'b', 'c'], onError: 'continue', finished })
    expect(await runItems(run)).toEqual({
      ok: true,
      outputs: ['kept', 'b!', { error: { code: 'X', message: 'was bad' } }],
    })
    expect(calls).toEqual(['1.1'])
    expect(ended.map((r) => r.index)).toEqual([1])
  })

  it('stops items in flight and starts no more once the step is aborted', async () => {
    const abort = new AbortController()
    const { run, calls } = loop({
      items: [1, 2, 3, 4],
      concurrency: 2,
      signal: abort.signal,
      attempt: (index, _item, attempt, signal) => {
        calls.push(`${index}.${attempt}`)
        if (index === 1) abort.abort()
        return new Promise((resolve) => {
          if (signal.aborted) resolve(fail('stopped'))
          signal.addEventListener('abort', () => resolve(fail('stopped')), { once: true })
        })
      },
    })
    const outcome = await runItems(run)
    expect(outcome.ok).toBe(false)
    expect(calls).toEqual(['0.1', '1.1'])
  })
})

describe('an item as the step shows it', () => {
  it.each([
    [{ index: 0, ok: true, attempts: 1, output: 5 }, 5],
    [{ index: 0, ok: true, attempts: 1 }, null],
    [
      { index: 3, ok: false, attempts: 1, error: { code: 'C', message: 'm', details: 1 } },
      { error: { code: 'C', message: 'm' } },
    ],
  ])('%j fills its slot with %j', (result, slot) => {
    expect(itemSlot(result)).toEqual(slot)
  })

  it("gives the step the failed item's error with its index in details", () => {
    const result = {
      index: 4,
      ok: false,
      attempts: 2,
      error: { code: 'C', message: 'm', details: { why: 'x' } },
    }
    expect(itemError(result)).toEqual({ code: 'C', message: 'm', details: { why: 'x', index: 4 } })
  })
})
