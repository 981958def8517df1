// A map that holds at most `capacity` entries and drops the least recently used one past that. A
// Map keeps insertion order, so moving an entry to the end on each read is all the bookkeeping.
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>()

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be at least 1')
  }

  get size(): number {
    return this.entries.size
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined
    const value = this.entries.get(key) as V
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  has(key: K): boolean {
    return this.entries.has(key)
  }

  /** Stores the value as the most recently used, dropping the least recently used past capacity. */
  set(key: K, value: V): this {
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K)
    return this
  }

  delete(key: K): boolean {
    return this.entries.delete(key)
  }

  /** Keys from the least to the most recently used. */
  keys(): IterableIterator<K> {
    return this.entries.keys()
  }
}
