// Who waits for a run to end in this process (a `getRun` with a wait, a webhook answered
// `onComplete`, `piecework run`): each is told the run's state once its end is durable, or nothing
// after its own time is up.
import type { RunState } from './state.js'

export interface EndWait {
  /** The run's state at its end; undefined when `ms` passed first. */
  promise: Promise<RunState | undefined>
  /** Stops waiting (the promise then never settles). */
  cancel(): void
}

export class RunWaiters {
  private readonly waiters = new Map<string, Set<(state: RunState) => void>>()

  /** Waits up to `ms` for the run to end here. */
  wait(id: string, ms: number): EndWait {
    let timer: NodeJS.Timeout | undefined
    let wake!: (state: RunState) => void
    const promise = new Promise<RunState | undefined>((resolve) => {
      wake = resolve
      timer = setTimeout(() => resolve(undefined), ms)
    })
    const waiters = this.waiters.get(id) ?? new Set()
    waiters.add(wake)
    this.waiters.set(id, waiters)
    const cancel = () => {
      clearTimeout(timer)
      waiters.delete(wake)
      if (waiters.size === 0) this.waiters.delete(id)
    }
    return {
      promise: promise.then((state) => {
        cancel()
        return state
      }),
      cancel,
    }
  }

  /** The run ended (durably): everyone waiting for it is told. */
  ended(id: string, state: RunState): void {
    for (const wake of this.waiters.get(id) ?? []) wake(state)
    this.waiters.delete(id)
  }

  /** How many runs someone waits for. */
  get size(): number {
    return this.waiters.size
  }
}
