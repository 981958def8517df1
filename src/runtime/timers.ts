// Wakes waiting steps when they are due. The due times themselves are in the step rows; this only
// keeps the process's alarm clock. Waits longer than setTimeout's range are re-armed in hops.
const MAX_TIMEOUT = 2 ** 31 - 1

export class Timers {
  private readonly handles = new Map<string, NodeJS.Timeout>()

  constructor(private readonly now: () => number = Date.now) {}

  schedule(key: string, at: number, fire: () => void): void {
    this.cancel(key)
    const delay = Math.max(0, at - this.now())
    const handle = setTimeout(
      () => {
        this.handles.delete(key)
        if (at > this.now()) this.schedule(key, at, fire)
        else fire()
      },
      Math.min(delay, MAX_TIMEOUT),
    )
    this.handles.set(key, handle)
  }

  cancel(key: string): void {
    const handle = this.handles.get(key)
    if (handle) clearTimeout(handle)
    this.handles.delete(key)
  }

  get size(): number {
    return this.handles.size
  }

  clear(): void {
    for (const handle of this.handles.values()) clearTimeout(handle)
    this.handles.clear()
  }
}
