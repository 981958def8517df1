// Signals to runs: stored durably before they are answered (src/store/signals.ts), then delivered to
// the run where it is: in memory here at once; passivated runs are woken, those woken in one turn
// of the event loop together (one lease update, one read of each kind); a run another process
// holds finds the signal at its holder's next poll. A child run's end reaches its parent the same
// way. The engine hands in what this needs; nothing here imports the engine.
import type { Knex } from '@mikro-orm/knex'
import { ConflictError, ValidationError } from '../errors.js'
import { SIGNAL_NAME } from '../piece-sdk/define.js'
import type { Claimed, Leases } from '../store/leases.js'
import type { RunView } from '../store/runs.js'
import { runsWaitingFor, type SignalInbox } from '../store/signals.js'
import type { RunTakes } from './run-takes.js'
import type { Supervisor } from './supervisor.js'

export interface DeliveryHost {
  /** The supervisors of the runs this process holds in memory. */
  readonly held: ReadonlyMap<string, Supervisor>
  accepting(): boolean
  readonly leases: Leases
  /** Runs being taken here now (each is taken once at a time). */
  readonly takes: RunTakes
  /** Rebuilds runs just taken from their checkpoints and resumes them. */
  resume(claimed: Claimed[]): Promise<void>
  getRun(id: string): Promise<RunView>
}

export class SignalDelivery {
  private readonly toWake = new Set<string>()
  private waking: Promise<void> | undefined

  constructor(
    private readonly inbox: SignalInbox,
    private readonly knex: Knex,
    private readonly host: DeliveryHost,
  ) {}

  /** Stores a signal, then delivers it; answers the step that takes it (null: buffered). */
  async signal(runId: string, name: string, data: unknown): Promise<{ taken: string | null }> {
    checkName(name)
    const stored = await this.inbox.store(runId, name, data ?? null, Date.now())
    if (stored === undefined) {
      const run = await this.host.getRun(runId)
      throw new ConflictError(`run ${runId} is ${run.status}: it takes no more signals`)
    }
    const live = this.host.held.get(runId)
    if (live) return { taken: live.deliver({ id: stored.id, name, data: data ?? null }) }
    void this.wake(runId).catch(() => {})
    return { taken: stored.waiting[0] ?? null }
  }

  /** A signal to every run with a step waiting for its name and key: how many it reached. */
  async broadcast(name: string, key: unknown, data: unknown): Promise<{ delivered: number }> {
    checkName(name)
    const runs = await runsWaitingFor(this.knex, name, key === undefined ? null : JSON.stringify(key))
    let delivered = 0
    for (const runId of runs) {
      const sent = await this.signal(runId, name, data).then(
        () => true,
        () => false,
      )
      if (sent) delivered++
    }
    return { delivered }
  }

  /**
   * A run has news in the database (a signal, a child's end): told at once when it is in memory
   * here; brought back when nobody holds it; else its holder finds it at its next poll.
   */
  wake(runId: string): Promise<void> {
    const live = this.host.held.get(runId)
    if (live) return live.checkSignals()
    if (!this.host.accepting()) return Promise.resolve()
    // being taken here: once that is done it is in memory, and is told (its signals may have been
    // read before this one was stored)
    if (this.host.takes.has(runId)) return this.host.takes.settled(runId).then(() => this.wake(runId))
    this.toWake.add(runId)
    this.waking ??= new Promise((resolve) => setImmediate(resolve)).then(() => this.wakeAll())
    return this.waking
  }

  private async wakeAll(): Promise<void> {
    const wanted = [...this.toWake].filter((id) => !this.host.held.has(id))
    this.toWake.clear()
    this.waking = undefined
    const ids = this.host.takes.begin(wanted)
    // those that a poll began to take meanwhile are told once it is done
    if (ids.length < wanted.length) {
      const mine = new Set(ids)
      for (const id of wanted) if (!mine.has(id)) void this.wake(id).catch(() => {})
    }
    if (ids.length === 0) return
    try {
      const now = Date.now()
      const claimed =
        ids.length === 1
          ? [{ id: ids[0]!, epoch: await this.host.leases.take(ids[0]!, now), takenOver: false }]
          : await this.host.leases.takeMany(ids, now)
      const taken = claimed.filter((c): c is Claimed => c.epoch !== undefined && !this.host.held.has(c.id))
      if (taken.length > 0) await this.host.resume(taken)
    } finally {
      this.host.takes.end(ids)
    }
  }
}

function checkName(name: string): void {
  if (!SIGNAL_NAME.test(name))
    throw new ValidationError(`'${name}' is not a signal name`, [
      { path: 'name', message: 'must be letters, digits, _ . - (at most 100)' },
    ])
}
