// Which waiting step goes to the next free sandbox thread. Steps wait per workflow; workflows take
// turns; a workflow may hold at most `share` threads at once, so one hostile or busy workflow
// cannot hold every thread while others wait. Pure bookkeeping, no I/O.

export class FairQueue<T> {
  private readonly waiting = new Map<string, T[]>()
  private readonly running = new Map<string, number>()
  /** The workflow that took the last turn: the next turn starts after it. */
  private last: string | undefined

  constructor(private readonly share: number) {}

  get size(): number {
    let n = 0
    for (const items of this.waiting.values()) n += items.length
    return n
  }

  push(key: string, item: T): void {
    const items = this.waiting.get(key)
    if (items) items.push(item)
    else this.waiting.set(key, [item])
  }

  /** Takes an item out before its turn (its step was cancelled while it waited). */
  remove(key: string, item: T): boolean {
    const items = this.waiting.get(key)
    const at = items?.indexOf(item) ?? -1
    if (at < 0) return false
    items!.splice(at, 1)
    if (items!.length === 0) this.waiting.delete(key)
    return true
  }

  /** The next item whose workflow is under its share, taking workflows in turn; it now runs. */
  take(): { key: string; item: T } | undefined {
    const keys = [...this.waiting.keys()]
    if (keys.length === 0) return undefined
    const start = this.last === undefined ? 0 : (keys.indexOf(this.last) + 1) % keys.length
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(start + i) % keys.length]!
      if ((this.running.get(key) ?? 0) >= this.share) continue
      const items = this.waiting.get(key)!
      const item = items.shift()!
      if (items.length === 0) this.waiting.delete(key)
      this.running.set(key, (this.running.get(key) ?? 0) + 1)
      this.last = key
      return { key, item }
    }
    return undefined
  }

  /** Empties the queue (the pool is closing): every waiting item, in no particular order. */
  drain(): T[] {
    const items = [...this.waiting.values()].flat()
    this.waiting.clear()
    return items
  }

  /** An item taken earlier has finished: its workflow's thread is free again. */
  done(key: string): void {
    const n = (this.running.get(key) ?? 0) - 1
    if (n > 0) this.running.set(key, n)
    else this.running.delete(key)
  }
}

/** By default a workflow may use every thread but one, so that others always keep one. */
export function defaultShare(threads: number): number {
  return Math.max(1, threads - 1)
}
