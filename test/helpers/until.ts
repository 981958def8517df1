// Waiting in tests for what another process or the engine's own timers bring about: polled, with
// a deadline that names what never came.
import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `check` every `everyMs` until it holds; throws naming `what` once `ms` have passed. */
export async function until(
  what: string,
  ms: number,
  check: () => Promise<boolean> | boolean,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
