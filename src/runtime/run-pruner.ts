// The pruner of `runs.retention`, run by `piecework serve`: every `interval`, a pass deletes the
// ended runs past their status's age or count, in small batches with a pause between them, so that
// the engine's checkpoints (which share SQLite's one connection) never wait long behind it.
import { EventEmitter } from 'node:events'
import type { RetentionConfig } from '../config/retention.js'
import { parseDuration } from '../definition/duration.js'
import type { Database } from '../store/orm.js'
import {
  type EndedStatus,
  keepBoundary,
  type PrunedRows,
  type PruneSelection,
  pruneBatch,
  pruneFires,
  workflowIds,
} from '../store/retention.js'

export interface RetentionRule {
  status: EndedStatus
  /** Runs that ended longer ago than this are deleted. */
  maxAgeMs?: number
  /** Per workflow, runs beyond the newest this many are deleted. */
  keep?: number
}

export interface PrunerOptions {
  rules: RetentionRule[]
  intervalMs: number
  batchSize: number
  /** The pause after each batch that deleted something (by default it follows the batch's time). */
  pauseMs?: number
  /** The first pass starts this long after `start()` (by default 10 s, or `intervalMs` if shorter). */
  firstPassMs?: number
  now?: () => number
}

/** What one pass deleted. */
export interface PassSummary extends PrunedRows {
  byStatus: Record<EndedStatus, number>
  /** Schedule fires that no longer mattered once their runs were pruned (or that were skipped). */
  fires: number
  batches: number
  ms: number
  /** What ended the pass early (the database away, say); the next pass tries again. */
  error?: unknown
}

/** The part of a pino logger the pruner writes to. */
export interface PruneLog {
  info(fields: object, msg: string): void
  warn(fields: object, msg: string): void
}

export interface PrunerEvents {
  /** A batch committed: its runs are gone. */
  batch: [status: EndedStatus, rows: PrunedRows]
  /** A pass ended that deleted something. */
  pass: [summary: PassSummary]
  /** A pass ended early on an error; the next one is tried at the next interval. */
  failed: [error: unknown]
}

export const STATUSES: readonly EndedStatus[] = ['succeeded', 'failed', 'cancelled']
/**
 * How batches are paced, per database. `targetMs`: how long a batch should take at most; a slower
 * one (runs with many steps) makes the next ones smaller in proportion. `pauseMs` and `factor`: the
 * pause after a batch is the larger of `pauseMs` and `factor` times the batch's own time.
 * On SQLite a batch holds the engine's thread and its one connection (200 runs of 5 steps take
 * 2–6 ms): pruning takes at most a twentieth of them, and 200 runs every quarter of a second
 * still clears 800 runs a second (70 million a day). On PostgreSQL a batch holds only row locks of
 * ended runs, and the engine's thread goes on meanwhile.
 */
const PACE = {
  sqlite: { targetMs: 10, pauseMs: 250, factor: 20 },
  postgres: { targetMs: 200, pauseMs: 250, factor: 4 },
}
const FIRST_PASS_MS = 10_000

/** The pruner's options from `runs.retention`, or undefined when no status is to be pruned. */
export function prunerOptions(config: RetentionConfig): PrunerOptions | undefined {
  const rules = STATUSES.flatMap((status): RetentionRule[] => {
    const rule = config[status]
    if (!rule) return []
    const maxAgeMs = rule.maxAge === undefined ? undefined : parseDuration(rule.maxAge)
    return [{ status, maxAgeMs, keep: rule.keep }]
  })
  if (rules.length === 0) return undefined
  return { rules, intervalMs: parseDuration(config.interval) ?? 60_000, batchSize: config.batchSize }
}

export class RunPruner {
  readonly events = new EventEmitter<PrunerEvents>()
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false
  private readonly now: () => number
  private wake: (() => void) | undefined
  /** Runs in the next batch: `batchSize`, less after a slow batch. */
  private size: number

  constructor(
    private readonly db: Pick<Database, 'knex' | 'kind'>,
    private readonly options: PrunerOptions,
  ) {
    this.now = options.now ?? Date.now
    this.size = options.batchSize
  }

  /** Passes every `intervalMs`, the first one shortly after this call. */
  start(): void {
    this.stopped = false
    this.arm(this.options.firstPassMs ?? Math.min(FIRST_PASS_MS, this.options.intervalMs))
  }

  /** No batch after this; resolves once the batch under way (if any) has committed. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.wake?.()
    await this.running
  }

  /** Logs one line per pass that deleted something, and a warning for a pass that failed. */
  logTo(log: PruneLog): this {
    this.events.on('pass', (s) =>
      log.info(
        {
          ...s.byStatus,
          stepRows: s.steps,
          logLines: s.logs,
          scheduleFires: s.fires,
          batches: s.batches,
          ms: Math.round(s.ms),
        },
        'runs pruned',
      ),
    )
    this.events.on('failed', (error) =>
      log.warn({ err: error }, 'pruning runs failed; trying again at the next interval'),
    )
    return this
  }

  private arm(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.pass().then((summary) => {
        this.running = undefined
        if (summary.runs > 0 || summary.fires > 0) this.events.emit('pass', summary)
        if (summary.error !== undefined) this.events.emit('failed', summary.error)
        this.arm(this.options.intervalMs)
      })
    }, ms)
    this.timer.unref()
  }

  /**
   * One pass over every rule: ages first, then counts per workflow. It never throws: an error ends
   * the pass, and is in the summary with what was deleted before it.
   */
  async pass(): Promise<PassSummary> {
    const started = performance.now()
    const summary: PassSummary = {
      runs: 0,
      steps: 0,
      logs: 0,
      byStatus: { succeeded: 0, failed: 0, cancelled: 0 },
      fires: 0,
      batches: 0,
      ms: 0,
    }
    try {
      await this.prune(summary)
      await this.pruneFires(summary)
    } catch (error) {
      summary.error = error
    }
    summary.ms = performance.now() - started
    return summary
  }

  private async prune(summary: PassSummary): Promise<void> {
    const now = this.now()
    const ages = new Map<EndedStatus, number>()
    for (const rule of this.options.rules) {
      if (rule.maxAgeMs === undefined) continue
      const endedBefore = now - rule.maxAgeMs
      ages.set(rule.status, endedBefore)
      await this.drain({ status: rule.status, endedBefore }, summary)
    }
    const counted = this.options.rules.filter((r) => r.keep !== undefined)
    if (counted.length === 0) return
    for (const workflowId of await workflowIds(this.db.knex)) {
      if (this.stopped) return
      for (const rule of counted) {
        const boundary = await keepBoundary(this.db.knex, workflowId, rule.status, rule.keep!)
        // what ended before the age cutoff went already
        if (boundary === undefined || boundary <= (ages.get(rule.status) ?? 0)) continue
        await this.drain({ status: rule.status, endedBefore: boundary, workflowId }, summary)
      }
    }
  }

  /** Schedule fires of pruned runs, in batches like the runs'. */
  private async pruneFires(summary: PassSummary): Promise<void> {
    while (!this.stopped) {
      const started = performance.now()
      const deleted = await pruneFires(this.db.knex, this.options.batchSize)
      summary.fires += deleted
      if (deleted < this.options.batchSize) return
      const pace = PACE[this.db.kind]
      await this.pause(
        this.options.pauseMs ?? Math.max(pace.pauseMs, (performance.now() - started) * pace.factor),
      )
    }
  }

  /** A pause that `stop()` cuts short. */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /** Batches of the selection until one comes back short, pausing after each. */
  private async drain(selection: PruneSelection, summary: PassSummary): Promise<void> {
    while (!this.stopped) {
      const size = this.size
      const started = performance.now()
      const rows = await pruneBatch(this.db, selection, size)
      const took = performance.now() - started
      if (rows.runs === 0) return
      const pace = PACE[this.db.kind]
      this.size = nextBatchSize(size, took, pace.targetMs, this.options.batchSize)
      summary.runs += rows.runs
      summary.steps += rows.steps
      summary.logs += rows.logs
      summary.byStatus[selection.status] += rows.runs
      summary.batches++
      this.events.emit('batch', selection.status, rows)
      await this.pause(this.options.pauseMs ?? Math.max(pace.pauseMs, took * pace.factor))
      if (rows.runs < size) return
    }
  }
}

/** A batch over its time target shrinks the next in proportion; one within it doubles it, up to `max`. */
export function nextBatchSize(size: number, tookMs: number, targetMs: number, max: number): number {
  if (tookMs > targetMs) return Math.max(1, Math.floor((size * targetMs) / tookMs))
  return Math.min(max, size * 2)
}
