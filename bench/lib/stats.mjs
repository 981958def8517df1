// Small statistics for benchmark samples: medians of repetitions, percentiles of latencies.

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values) {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The p-th percentile (0–100) by the nearest-rank method. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/** Runs `fn` `times` times, one after another, and returns what each call returned. */
export async function repeat(times, fn) {
  const results = []
  for (let i = 0; i < times; i++) results.push(await fn(i))
  return results
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Milliseconds since an arbitrary origin, with sub-millisecond precision. */
export const now = () => performance.now()

/** Polls `check` every `everyMs` until it returns a truthy value, or throws after `timeoutMs`. */
export async function until(check, { timeoutMs = 30_000, everyMs = 20, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
