// A workflow's `concurrency`: how many of its runs go at once in this process, and which wait their
// turn, first come first served. Pure bookkeeping by run id; the engine starts what it answers.

interface Gate<T> {
  active: Set<string>
  queue: { id: string; item: T }[]
}

export class ConcurrencyGates<T> {
  private readonly gates = new Map<string, Gate<T>>()

  /** Whether the run may go now (it holds a place until it leaves); if not, it waits its turn. */
  enter(workflowId: string, limit: number, runId: string, item: T): boolean {
    let gate = this.gates.get(workflowId)
    if (!gate) {
      gate = { active: new Set(), queue: [] }
      this.gates.set(workflowId, gate)
    }
    if (gate.active.has(runId)) return true
    if (gate.active.size >= limit) {
      if (!gate.queue.some((q) => q.id === runId)) gate.queue.push({ id: runId, item })
      return false
    }
    gate.active.add(runId)
    return true
  }

  /**
   * A run ended or left this process: its place, or its turn, is given up. Answers the waiting runs
   * that may go now, taken off their queue (each enters again when it is started).
   */
  leave(runId: string): T[] {
    const next: T[] = []
    for (const gate of this.gates.values()) {
      gate.queue = gate.queue.filter((q) => q.id !== runId)
      if (!gate.active.delete(runId)) continue
      const first = gate.queue.shift()
      if (first) next.push(first.item)
    }
    return next
  }

  /** Runs holding a place, per workflow (for tests and metrics). */
  active(workflowId: string): number {
    return this.gates.get(workflowId)?.active.size ?? 0
  }

  waiting(workflowId: string): number {
    return this.gates.get(workflowId)?.queue.length ?? 0
  }
}
