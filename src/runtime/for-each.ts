// A `forEach` step: its action once per item, at most `concurrency` at once, each item with the
// step's retry policy, the output in item order. The step itself stays `running` while its items
// run; each item that ends is checkpointed as a row of its own (`step_items`), so after a restart
// finished items are not run again. Only the items in flight hold state here, besides the outputs.
import type { StepError } from './state.js'

/** How one attempt of one item ended. */
export type ItemAttempt = (
  | { ok: true; value: unknown }
  | { ok: false; error: StepError; retryable: boolean; retryAfterMs?: number }
) & { childRunId?: string }

/** An item that has ended, as checkpointed. */
export interface ItemResult {
  index: number
  ok: boolean
  attempts: number
  output?: unknown
  error?: StepError
  /** The child run of the item's last attempt (`workflow.run`). */
  childRunId?: string
}

export interface ForEachRun {
  items: readonly unknown[]
  concurrency: number
  onError: 'fail' | 'continue' | 'branch'
  /** Items that ended before (restored from their rows): they do not run again. */
  finished: ReadonlyMap<number, ItemResult>
  /** Runs one attempt of one item. */
  attempt(index: number, item: unknown, attempt: number, signal: AbortSignal): Promise<ItemAttempt>
  /** The pause before the next attempt of an item, or undefined when it has none left. */
  retryDelay(index: number, attempt: number, failure: ItemAttempt & { ok: false }): number | undefined
  /** An item ended: checkpoint it. */
  ended(result: ItemResult): void
  /** Aborted when the step is cancelled or its run ends. */
  signal: AbortSignal
}

export type ForEachOutcome =
  | { ok: true; outputs: unknown[] }
  | { ok: false; error: StepError & { details: { index: number } & Record<string, unknown> } }

/** What an item's slot of the step's output holds: its output, or under `continue` its error. */
export function itemSlot(result: ItemResult): unknown {
  if (result.ok) return result.output ?? null
  return { error: { code: result.error!.code, message: result.error!.message } }
}

/** The step's error for a failed item (`fail` and `branch`): the item's, with its index in details. */
export function itemError(
  result: ItemResult,
): StepError & { details: { index: number } & Record<string, unknown> } {
  const { code, message, details } = result.error!
  const extra = typeof details === 'object' && details !== null && !Array.isArray(details) ? details : {}
  return { code, message, details: { ...(extra as Record<string, unknown>), index: result.index } }
}

/** Items run back to back for this long before the loop lets the event loop turn. */
const SLICE_MS = 2

export async function runItems(run: ForEachRun): Promise<ForEachOutcome> {
  const outputs: unknown[] = new Array(run.items.length)
  let failure: ItemResult | undefined
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  run.signal.addEventListener('abort', onAbort, { once: true })
  let next = 0
  let sliceStart = performance.now()

  const one = async (index: number): Promise<ItemResult> => {
    for (let attempt = 1; ; attempt++) {
      const outcome = await run.attempt(index, run.items[index], attempt, stop.signal)
      const child = outcome.childRunId === undefined ? {} : { childRunId: outcome.childRunId }
      if (outcome.ok) return { index, ok: true, attempts: attempt, output: outcome.value, ...child }
      const failed: ItemResult = { index, ok: false, attempts: attempt, error: outcome.error, ...child }
      const delay = run.retryDelay(index, attempt, outcome)
      if (delay === undefined || stop.signal.aborted) return failed
      await pause(delay, stop.signal)
      if (stop.signal.aborted) return failed
    }
  }

  const lane = async (): Promise<void> => {
    while (next < run.items.length && !stop.signal.aborted) {
      const index = next++
      const before = run.finished.get(index)
      const result = before ?? (await one(index))
      if (stop.signal.aborted && !before) return
      if (!before) run.ended(result)
      if (!result.ok && run.onError !== 'continue') {
        failure ??= result
        stop.abort()
        return
      }
      outputs[index] = itemSlot(result)
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve))
        sliceStart = performance.now()
      }
    }
  }

  try {
    const lanes = Math.max(1, Math.min(run.concurrency, run.items.length))
    await Promise.all(Array.from({ length: lanes }, lane))
  } finally {
    run.signal.removeEventListener('abort', onAbort)
  }
  if (failure) return { ok: false, error: itemError(failure) }
  if (run.signal.aborted) {
    const stopped = {
      index: next,
      ok: false,
      attempts: 0,
      error: { code: 'CANCELLED', message: 'the step was stopped' },
    }
    return { ok: false, error: itemError(stopped) }
  }
  return { ok: true, outputs }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
