// Finding and keeping runs: every poll claims the runs that are due (a passivated run's timer) or
// orphaned (their process died, or stalled past its lease) and hands them to the engine to resume;
// every third of a lease, the leases of the runs in memory are renewed, and a run found lost is
// dropped at once. The engine hands in what this needs; nothing here imports the engine.
import { LeaseLostError } from '../store/checkpoints.js'
import type { Claimed, Leases } from '../store/leases.js'
import type { LeaseDeadline } from '../workers/protocol.js'
import type { RunTakes } from './run-takes.js'
import type { Supervisor } from './supervisor.js'

export interface RecoveryHost {
  /** The supervisors of the runs this process holds in memory. */
  readonly held: ReadonlyMap<string, Supervisor>
  /** Runs being taken here now (each is taken once at a time). */
  readonly takes: RunTakes
  /** Leaves a run without ending it and without another write (its lease is lost). */
  drop(supervisor: Supervisor, reason: string, error: unknown): void
  /** Rebuilds claimed runs from their checkpoints, each with its new epoch, and starts or resumes them. */
  resume(claimed: Claimed[]): Promise<void>
  /** Cancels a run held in memory (its cancel was asked through another process). */
  cancel(supervisor: Supervisor): void
  accepting(): boolean
}

export interface RecoveryOptions {
  pollMs: number
  /** Waiting runs are claimed when their first timer is due within this. */
  horizonMs: number
  /** Take runs of other owners whatever their lease says (one process per SQLite file). */
  ignoreLeases: boolean
}

const CLAIM_BATCH = 200
/** While the database does not answer, a lease is asked again this often. */
const LEASE_RETRY_MS = 500

export class RunRecovery {
  private poller: NodeJS.Timeout | undefined
  private renewer: NodeJS.Timeout | undefined
  private polling: Promise<number> | undefined
  private renewing: Promise<void> | undefined
  constructor(
    private readonly leases: Leases,
    private readonly host: RecoveryHost,
    private readonly options: RecoveryOptions,
    /** Shared with the threads and the sandbox pool: no step begins past it. */
    private readonly deadline: LeaseDeadline,
  ) {
    this.renewed(performance.now())
  }

  /** The first poll (every unfinished run this process may take), then polls and renewals on timers. */
  async start(): Promise<number> {
    const resumed = await this.poll()
    this.poller = setInterval(() => void this.poll(), this.options.pollMs)
    this.renewer = setInterval(() => void this.renew(), this.leases.leaseMs / 3)
    this.poller.unref()
    this.renewer.unref()
    return resumed
  }

  get started(): boolean {
    return this.poller !== undefined
  }

  async stop(): Promise<void> {
    clearInterval(this.poller)
    clearInterval(this.renewer)
    await this.polling
  }

  /** Claims runs that are due or orphaned, and resumes them. Answers how many. */
  poll(): Promise<number> {
    if (this.polling) return this.polling.then(() => 0)
    const polling = this.claimAll().catch(() => 0)
    this.polling = polling
    void polling.finally(() => {
      this.polling = undefined
    })
    return polling
  }

  private async claimAll(): Promise<number> {
    // cancels and signals sent through another process to the runs held here, carried out first
    const news = await this.leases.news()
    for (const id of news.cancels) {
      const supervisor = this.host.held.get(id)
      if (supervisor) this.host.cancel(supervisor)
    }
    for (const id of news.signals) await this.host.held.get(id)?.checkSignals()
    let total = 0
    while (this.host.accepting()) {
      // runs a signal is waking here now are left to that wake
      let reserved: string[] = []
      let claimed: Claimed[]
      try {
        claimed = await this.leases.claim({
          now: Date.now(),
          horizonMs: this.options.horizonMs,
          limit: CLAIM_BATCH,
          ignoreLeases: this.options.ignoreLeases,
          reserve: (ids) => {
            reserved = this.host.takes.begin(ids)
            return reserved
          },
        })
        // a run still in memory that had to be claimed again lost its lease meanwhile (this process
        // stalled past it): what it holds is not to be trusted, it is rebuilt from the checkpoints
        for (const c of claimed) {
          const stale = this.host.held.get(c.id)
          if (stale) this.host.drop(stale, 'its lease ran out while it was held', new LeaseLostError(c.id))
        }
        await this.host.resume(claimed)
      } finally {
        this.host.takes.end(reserved)
      }
      total += claimed.length
      if (claimed.length < CLAIM_BATCH) break
    }
    return total
  }

  /**
   * Leases are surely held until most of a lease after the start of the last renewal that went
   * through (a monotonic clock: a stopped process wakes up knowing it may have lost them).
   */
  leaseValid(): boolean {
    return !this.deadline.passed
  }

  /**
   * Waits until the leases are sure again: renews them (runs found lost are dropped meanwhile), and
   * while the database does not answer, asks again every LEASE_RETRY_MS, unless `givenUp` says the
   * waiter no longer needs them.
   */
  async confirm(givenUp: () => boolean): Promise<void> {
    while (!this.leaseValid()) {
      await this.renew()
      if (givenUp() || this.leaseValid()) return
      await new Promise((resolve) => setTimeout(resolve, LEASE_RETRY_MS))
      if (givenUp()) return
    }
  }

  /** A renewal that started at `at` (performance.now()) went through. */
  private renewed(at: number): void {
    this.deadline.set(at + this.leases.leaseMs * 0.8)
  }

  /** Renews the leases of the runs in memory; a run another process took over is dropped at once. */
  renew(): Promise<void> {
    this.renewing ??= this.renewOnce().finally(() => {
      this.renewing = undefined
    })
    return this.renewing
  }

  private async renewOnce(): Promise<void> {
    const started = performance.now()
    try {
      const held = [...this.host.held.keys()]
      const renewed = await this.leases.renew(Date.now(), held)
      const missing = new Map<string, number>()
      for (const id of held) {
        const supervisor = this.host.held.get(id)
        if (supervisor && !renewed.has(id)) missing.set(id, supervisor.epoch)
      }
      for (const id of await this.leases.lost(missing)) {
        const supervisor = this.host.held.get(id)
        if (supervisor) this.host.drop(supervisor, 'its lease was taken over', new LeaseLostError(id))
      }
      this.renewed(started)
    } catch {
      // the database is away: the leases are renewed at the next turn, or lost and taken over
    }
  }
}
