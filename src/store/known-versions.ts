// The current version of each workflow (and whether it is paused) as this process knows it without
// a read: what a child run starts with, and on SQLite every run. Known only while every change can
// be heard: on SQLite always (one process per file, and its deploys, pauses and deletes go through
// here); on PostgreSQL while the connection that listens for other processes' changes is open (a
// version read while it was away, or while a change went by, is not kept), and for at most `ttlMs`
// even then, in case a notice was lost without the connection noticing. A read that began before a
// change is never kept after it.

export class KnownVersions<T> {
  private readonly known = new Map<string, { value: T; at: number }>()
  /** Moves on with every change heard and every gap in hearing them: a read from before is stale. */
  private generation = 0

  constructor(
    /** Whether changes made elsewhere are heard now. */
    private live: boolean,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** What is known of the workflow's current version, if anything is. */
  get(id: string): T | undefined {
    const entry = this.known.get(id)
    if (!entry) return undefined
    if (this.now() - entry.at < this.ttlMs) return entry.value
    this.known.delete(id)
    return undefined
  }

  /** Taken before a read: what the read may be kept under. */
  token(): number {
    return this.generation
  }

  /** Keeps what was read since `token`, unless something changed meanwhile or changes go unheard. */
  fill(id: string, value: T, token: number): void {
    if (this.live && token === this.generation) this.known.set(id, { value, at: this.now() })
  }

  /** A workflow was deployed, paused, resumed or deleted (here, or heard of from elsewhere). */
  changed(id: string): void {
    this.generation++
    this.known.delete(id)
  }

  /** Changes elsewhere are heard from now on, or no longer: either way nothing known is kept. */
  reset(live: boolean): void {
    this.live = live
    this.generation++
    this.known.clear()
  }
}
