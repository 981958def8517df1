// Retry timing: whether a failed attempt is tried again, and after how long.
import { describe, expect, it } from 'vitest'
import type { RetryPolicy } from '../../src/definition/compile.js'
import { type FailureFacts, jitterDraw, retryDelay } from '../../src/runtime/retry.js'

const fixed = (attempts: number, delayMs: number, maxDelayMs?: number): RetryPolicy => ({
  attempts,
  backoff: 'fixed',
  delayMs,
  maxDelayMs,
  jitter: 'none',
})
const exponential = (attempts: number, delayMs: number, maxDelayMs?: number): RetryPolicy => ({
  ...fixed(attempts, delayMs, maxDelayMs),
  backoff: 'exponential',
})
const jittered = (policy: RetryPolicy): RetryPolicy => ({ ...policy, jitter: 'full' })
const retryable: FailureFacts = { retryable: true }

describe('retryDelay', () => {
  const cases: [string, RetryPolicy | undefined, number, FailureFacts, number | undefined][] = [
    ['waits the fixed delay after the first attempt', fixed(3, 1000), 1, retryable, 1000],
    ['waits the same fixed delay after a later attempt', fixed(3, 1000), 2, retryable, 1000],
    ['gives up once the attempts are used', fixed(3, 1000), 3, retryable, undefined],
    ['gives up past the attempts too', fixed(3, 1000), 4, retryable, undefined],
    ['never retries a policy of one attempt', fixed(1, 1000), 1, retryable, undefined],
    ['allows a zero delay', fixed(2, 0), 1, retryable, 0],
    ['starts exponential backoff at the delay', exponential(10, 1000), 1, retryable, 1000],
    ['doubles the exponential delay on the second attempt', exponential(10, 1000), 2, retryable, 2000],
    ['doubles it again on the fourth attempt', exponential(10, 1000), 4, retryable, 8000],
    ['caps exponential backoff at maxDelay', exponential(10, 1000, 3000), 3, retryable, 3000],
    ['leaves a delay under maxDelay alone', exponential(10, 1000, 3000), 2, retryable, 2000],
    ['caps a fixed delay at maxDelay', fixed(3, 5000, 2000), 1, retryable, 2000],
    [
      'honours a retryAfter longer than the delay',
      fixed(3, 1000),
      1,
      { retryable: true, retryAfterMs: 5000 },
      5000,
    ],
    [
      'keeps the delay when retryAfter is shorter',
      fixed(3, 1000),
      1,
      { retryable: true, retryAfterMs: 500 },
      1000,
    ],
    [
      'honours a retryAfter even beyond maxDelay',
      exponential(5, 1000, 3000),
      1,
      { retryable: true, retryAfterMs: 10_000 },
      10_000,
    ],
    ['never retries a non-retryable failure', fixed(3, 1000), 1, { retryable: false }, undefined],
    [
      'ignores retryAfter on a non-retryable failure',
      fixed(3, 1000),
      1,
      { retryable: false, retryAfterMs: 10 },
      undefined,
    ],
    ['never retries a step without a policy', undefined, 1, retryable, undefined],
  ]
  it.each(cases)('%s', (_name, policy, attempt, failure, delay) => {
    expect(retryDelay(policy, attempt, failure, 0.5)).toBe(delay)
  })
})

describe('retryDelay with full jitter', () => {
  const cases: [string, RetryPolicy, number, FailureFacts, number, number | undefined][] = [
    ['waits nothing on a draw of 0', jittered(exponential(5, 1000)), 1, retryable, 0, 0],
    ['waits half the backoff on a draw of 0.5', jittered(exponential(5, 1000)), 3, retryable, 0.5, 2000],
    [
      'waits just under the backoff on the highest draw',
      jittered(exponential(5, 1000)),
      2,
      retryable,
      0.9999,
      1999,
    ],
    [
      'draws under maxDelay, not under the uncapped backoff',
      jittered(exponential(9, 1000, 3000)),
      6,
      retryable,
      0.5,
      1500,
    ],
    ['jitters a fixed delay when asked', jittered(fixed(3, 1000)), 1, retryable, 0.25, 250],
    [
      'still waits at least retryAfter',
      jittered(exponential(5, 1000)),
      1,
      { retryable: true, retryAfterMs: 700 },
      0.1,
      700,
    ],
    [
      'still gives up once the attempts are used',
      jittered(exponential(2, 1000)),
      2,
      retryable,
      0.5,
      undefined,
    ],
  ]
  it.each(cases)('%s', (_name, policy, attempt, failure, draw, delay) => {
    expect(retryDelay(policy, attempt, failure, draw)).toBe(delay)
  })
})

describe('jitterDraw', () => {
  it('gives the same draw for the same seed', () => {
    expect(jitterDraw('run-1:a:1')).toBe(jitterDraw('run-1:a:1'))
  })

  it('stays in [0, 1) and spreads seeds that differ in one character', () => {
    const draws = Array.from({ length: 2000 }, (_, i) => jitterDraw(`run-${i}:charge:1`))
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...draws)).toBeLessThan(1)
    // ten equal buckets each get about a tenth of the draws
    const buckets = new Array(10).fill(0)
    for (const d of draws) buckets[Math.floor(d * 10)]++
    for (const count of buckets) expect(count).toBeGreaterThan(140)
    expect(new Set(draws).size).toBeGreaterThan(1990)
  })
})
