// Runs this process is taking from the database (raising their lease epoch) and rebuilding, so that
// it takes each run once at a time. Two takes of one run by one process each raise its epoch: the
// first rebuilt supervisor is then fenced out and the second never runs (it found the first in
// memory), and the run sits with nobody running it until its lease runs out. Whatever else would
// take a run here (a signal's wake, a poll, a cancel) waits for the take in progress, then looks
// again: the run is in memory by then, or was not taken.
export class RunTakes {
  private readonly busy = new Map<string, { done: Promise<void>; end: () => void }>()

  /**
   * Marks these runs as being taken, except those being taken already; answers the ids marked,
   * which the caller ends (`end`) once it has taken and rebuilt them, or failed to.
   */
  begin(ids: Iterable<string>): string[] {
    const marked: string[] = []
    for (const id of ids) {
      if (this.busy.has(id)) continue
      let end!: () => void
      const done = new Promise<void>((resolve) => {
        end = resolve
      })
      this.busy.set(id, { done, end })
      marked.push(id)
    }
    return marked
  }

  end(ids: Iterable<string>): void {
    for (const id of ids) {
      this.busy.get(id)?.end()
      this.busy.delete(id)
    }
  }

  /** Whether the run is being taken now. */
  has(id: string): boolean {
    return this.busy.has(id)
  }

  /** Resolves once the take of the run in progress has ended (at once when none is). */
  settled(id: string): Promise<void> {
    return this.busy.get(id)?.done ?? Promise.resolve()
  }
}
