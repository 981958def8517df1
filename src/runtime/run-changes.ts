// Who wants to hear that a run changed, and telling them: after every checkpoint that touched the
// run (its rows, log lines included, are then readable), and, on PostgreSQL, when the process that
// holds a run says so. A run's event stream listens here (src/http/run-stream.ts).
import type { Batch, CheckpointExecutor } from '../store/checkpoints.js'
import type { Notices } from '../store/pg-notices.js'

/** The holder of a run told to watch it says what changed in it on this channel (payload: run ids). */
export const CHANGED_CHANNEL = 'piecework_run_changed'
/** A process that streams a run held elsewhere asks for its changes on this channel (payload: a run id). */
export const WATCH_CHANNEL = 'piecework_run_watch'
/** A watch is asked for again this often; a holder forgets one not asked for again within WATCH_TTL_MS. */
const WATCH_REFRESH_MS = 10_000
const WATCH_TTL_MS = 30_000
/** A NOTIFY payload stays under PostgreSQL's 8,000 bytes. */
const PAYLOAD_BYTES = 7_000

/** The runs a committed batch wrote to. */
export function runsOf(batch: Batch): Set<string> {
  const ids = new Set<string>()
  for (const row of batch.newRuns) ids.add(row.id)
  for (const row of batch.runs) ids.add(row.id)
  for (const row of batch.steps) ids.add(row.run_id)
  for (const row of batch.logs) ids.add(row.run_id)
  for (const row of batch.items) ids.add(row.run_id)
  for (const take of batch.takes) ids.add(take.run_id)
  return ids
}

/** Run ids joined with commas, in payloads that each fit a NOTIFY. */
export function payloads(ids: string[]): string[] {
  const out: string[] = []
  let current = ''
  for (const id of ids) {
    if (current && current.length + id.length + 1 > PAYLOAD_BYTES) {
      out.push(current)
      current = ''
    }
    current = current ? `${current},${id}` : id
  }
  if (current) out.push(current)
  return out
}

export class RunChanges {
  private readonly listeners = new Map<string, Set<() => void>>()
  /** Runs that streams in other processes watch: run id → until when (ms). */
  private readonly watchedElsewhere = new Map<string, number>()
  private readonly refreshers = new Map<string, NodeJS.Timeout>()

  constructor(private readonly notices?: Notices) {
    notices?.listen(CHANGED_CHANNEL, (payload) => {
      for (const id of payload.split(',')) this.fire(id)
    })
    notices?.listen(WATCH_CHANNEL, (id) => this.watchedElsewhere.set(id, Date.now() + WATCH_TTL_MS))
  }

  /** Calls `listener` whenever the run may have changed; the returned function stops it. */
  watch(runId: string, listener: () => void): () => void {
    let set = this.listeners.get(runId)
    if (!set) {
      set = new Set()
      this.listeners.set(runId, set)
      this.askHolder(runId)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size > 0 || this.listeners.get(runId) !== set) return
      this.listeners.delete(runId)
      clearInterval(this.refreshers.get(runId))
      this.refreshers.delete(runId)
    }
  }

  /** A checkpoint executor that tells watchers of the runs each batch wrote, once it is committed. */
  observe(executor: CheckpointExecutor): CheckpointExecutor {
    return {
      commit: async (batch) => {
        const refused = await executor.commit(batch)
        if (this.listeners.size > 0 || this.watchedElsewhere.size > 0) this.committed(runsOf(batch))
        return refused
      },
    }
  }

  close(): void {
    for (const timer of this.refreshers.values()) clearInterval(timer)
    this.refreshers.clear()
  }

  private committed(ids: Set<string>): void {
    const now = Date.now()
    const elsewhere: string[] = []
    for (const id of ids) {
      this.fire(id)
      const until = this.watchedElsewhere.get(id)
      if (until === undefined) continue
      if (until < now) this.watchedElsewhere.delete(id)
      else elsewhere.push(id)
    }
    for (const payload of payloads(elsewhere)) this.notices?.notify(CHANGED_CHANNEL, payload)
  }

  private fire(runId: string): void {
    for (const listener of this.listeners.get(runId) ?? []) listener()
  }

  /** Whichever process holds the run (now or later) hears that it is watched, again and again. */
  private askHolder(runId: string): void {
    if (!this.notices) return
    const ask = () => this.notices?.notify(WATCH_CHANNEL, runId)
    ask()
    const timer = setInterval(ask, WATCH_REFRESH_MS)
    timer.unref()
    this.refreshers.set(runId, timer)
  }
}
