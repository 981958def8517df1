// Retry timing: whether a failed attempt is tried again, and after how long.
import type { RetryPolicy } from '../definition/compile.js'

export interface FailureFacts {
  retryable: boolean
  retryAfterMs?: number
}

/** The wait before the next attempt, or undefined when the step has no attempt left. */
export function retryDelay(policy: RetryPolicy | undefined, failedAttempt: number, failure: FailureFacts) {
  if (!policy || !failure.retryable || failedAttempt >= policy.attempts) return undefined
  const base = policy.backoff === 'exponential' ? policy.delayMs * 2 ** (failedAttempt - 1) : policy.delayMs
  const capped = policy.maxDelayMs === undefined ? base : Math.min(base, policy.maxDelayMs)
  return Math.max(capped, failure.retryAfterMs ?? 0)
}
