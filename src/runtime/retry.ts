// Retry timing: whether a failed attempt is tried again, and after how long.
import type { RetryPolicy } from '../definition/compile.js'

export interface FailureFacts {
  retryable: boolean
  retryAfterMs?: number
}

/**
 * The wait before the next attempt, or undefined when the step has no attempt left. `draw` (in
 * [0, 1)) picks the wait under full jitter: anything from 0 up to the capped backoff. It comes from
 * `jitterDraw`, so the same attempt of the same step of the same run always waits the same time.
 */
export function retryDelay(
  policy: RetryPolicy | undefined,
  failedAttempt: number,
  failure: FailureFacts,
  draw: number,
) {
  if (!policy || !failure.retryable || failedAttempt >= policy.attempts) return undefined
  const base = policy.backoff === 'exponential' ? policy.delayMs * 2 ** (failedAttempt - 1) : policy.delayMs
  const capped = policy.maxDelayMs === undefined ? base : Math.min(base, policy.maxDelayMs)
  const jittered = policy.jitter === 'full' ? Math.floor(capped * draw) : capped
  return Math.max(jittered, failure.retryAfterMs ?? 0)
}

/**
 * A number in [0, 1) that depends only on `seed` (run id, step and attempt): retries of many runs
 * spread out, while a run rebuilt from its checkpoints, or a test, draws the same again.
 */
export function jitterDraw(seed: string): number {
  // FNV-1a, then murmur3's finaliser so that seeds differing in one character land far apart
  let h = 0x811c9dc5
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  h ^= h >>> 16
  return (h >>> 0) / 2 ** 32
}
