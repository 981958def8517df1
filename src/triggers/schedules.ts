// Schedule triggers: each due time of a workflow's cron fires once across restarts and processes,
// because firing means inserting the unique (workflow, due time) row first. A due time missed while
// no engine ran fires once at start (the latest one); older misses are not replayed, nor walked.
import { randomUUID } from 'node:crypto'
import { Cron } from 'croner'
import type { CompiledWorkflow } from '../definition/compile.js'
import type { Engine } from '../runtime/engine.js'
import { ScheduleFires } from '../store/schedule-fires.js'

interface Schedule {
  workflowId: string
  /** The workflow version this schedule was read from: it is read again only when that changes. */
  version: number
  cron: Cron
  overlap: 'skip' | 'allow'
  /** Due times up to here have been dealt with by this process. */
  checkedUntil: number
}

/**
 * How often a process asks which schedule workflows exist, at which version, to notice changes made
 * by another process on the same database (its own changes arrive as `workflow` events at once).
 * One lean query; a schedule is read in full only when its version changed.
 */
export const SCHEDULE_REFRESH_MS = 2_000

function fireInput(dueAt: number, firedAt: number) {
  return { scheduledAt: new Date(dueAt).toISOString(), firedAt: new Date(firedAt).toISOString() }
}

export function scheduleCron(workflow: CompiledWorkflow): Cron {
  const props = workflow.trigger.props as { cron: string; timezone?: string }
  return new Cron(props.cron, { timezone: props.timezone ?? 'UTC', paused: true })
}

/**
 * The latest due time in (after, now], or undefined when there is none. The next due time after a
 * moment only grows with the moment, so the latest is found by bisection: about 40 steps of the
 * cron after a year without an engine, where walking every missed due time of a per-second cron
 * would take 31 million (minutes of a frozen event loop).
 */
export function latestDue(cron: Pick<Cron, 'nextRun'>, after: number, now: number): number | undefined {
  const first = cron.nextRun(new Date(after))?.getTime()
  if (first === undefined || first > now) return undefined
  const second = cron.nextRun(new Date(first))?.getTime()
  // the usual tick: one due time since the last
  if (second === undefined || second > now) return first
  // the next due time after `low` is still due by `now`; after `high` it is not
  let low = first
  let high = now
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2)
    const next = cron.nextRun(new Date(middle))?.getTime()
    if (next !== undefined && next <= now) low = middle
    else high = middle
  }
  return cron.nextRun(new Date(low))!.getTime()
}

export class Scheduler {
  private schedules = new Map<string, Schedule>()
  private ticker: NodeJS.Timeout | undefined
  private refresher: NodeJS.Timeout | undefined
  private ticking: Promise<void> | undefined
  /** The reload under way, and the one queued behind it (which covers every call made meanwhile). */
  private loading: Promise<void> | undefined
  private queued: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly engine: Engine,
    private readonly tickMs = 1000,
    private readonly refreshMs = SCHEDULE_REFRESH_MS,
  ) {
    engine.events.on('workflow', this.onWorkflow)
  }

  private readonly onWorkflow = () => void this.reload().catch(() => {})

  private fireRows: ScheduleFires | undefined

  private get fires(): ScheduleFires {
    this.fireRows ??= new ScheduleFires(this.engine.db.knex)
    return this.fireRows
  }

  async start(): Promise<void> {
    await this.reload()
    await this.repair()
    await this.tick()
    this.ticker = setInterval(() => void this.tick(), this.tickMs)
    this.refresher = setInterval(() => void this.reload().catch(() => {}), this.refreshMs)
    this.ticker.unref()
    this.refresher.unref()
  }

  stop(): Promise<void> | undefined {
    this.stopped = true
    this.engine.events.off('workflow', this.onWorkflow)
    clearInterval(this.ticker)
    clearInterval(this.refresher)
    return this.ticking
  }

  /**
   * Brings the schedules up to date with the database. Reloads run one at a time; a call made while
   * one runs is served by the next, which starts after it and so sees whatever changed before the call.
   */
  reload(): Promise<void> {
    if (this.queued) return this.queued
    const load: Promise<void> = (this.loading ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        this.queued = undefined
        this.loading = load
        return this.load()
      })
      .finally(() => {
        if (this.loading === load) this.loading = undefined
      })
    this.queued = load
    return load
  }

  /** One query for the versions; a schedule is read again only when new here or changed. */
  private async load(): Promise<void> {
    const versions = await this.engine.workflows.currentVersions('schedule')
    const next = new Map<string, Schedule>()
    for (const [workflowId, version] of versions) {
      const known = this.schedules.get(workflowId)
      // deleted since it was listed, or no longer compiles: left out, and read again next time
      const schedule =
        known?.version === version
          ? known
          : await this.read(workflowId, version, known).catch(() => undefined)
      if (schedule) next.set(workflowId, schedule)
    }
    this.schedules = next
  }

  private async read(workflowId: string, version: number, known: Schedule | undefined): Promise<Schedule> {
    const [{ workflow }, stored, last] = await Promise.all([
      this.engine.workflowVersion(workflowId, version),
      this.engine.workflows.get(workflowId, version),
      this.fires.lastDue(workflowId),
    ])
    // without any fire yet, a schedule starts from when the workflow was stored: no backlog
    const from = last ?? stored.createdAt
    return {
      workflowId,
      version,
      cron: scheduleCron(workflow),
      overlap: (workflow.trigger.props as { overlap?: 'skip' | 'allow' }).overlap ?? 'skip',
      checkedUntil: Math.max(known?.checkedUntil ?? 0, from),
    }
  }

  /** Fires what is due: of the due times since the last check, only the latest. */
  tick(): Promise<void> {
    if (this.ticking || this.stopped) return this.ticking ?? Promise.resolve()
    this.ticking = (async () => {
      const now = Date.now()
      for (const schedule of this.schedules.values()) {
        const due = latestDue(schedule.cron, schedule.checkedUntil, now)
        schedule.checkedUntil = now
        if (due !== undefined) await this.fire(schedule, due, now).catch(() => {})
      }
    })().finally(() => {
      this.ticking = undefined
    })
    return this.ticking
  }

  private async fire(schedule: Schedule, dueAt: number, now: number): Promise<void> {
    // a paused workflow's due times pass as skipped (paused in any process: read from the database)
    const skip =
      (await this.engine.workflows.isPaused(schedule.workflowId)) ||
      (schedule.overlap === 'skip' && (await this.fires.runInFlight(schedule.workflowId)))
    // the run's id is fixed in the fire row first: a crash before the run is stored is repaired at start
    const runId = randomUUID()
    const recorded = await this.fires.record(schedule.workflowId, dueAt, now, skip ? null : runId)
    // another process, or an earlier life of this one, fired this due time already
    if (!recorded || skip) return
    await this.engine
      .startRun(schedule.workflowId, fireInput(dueAt, now), { id: runId })
      .catch(async (error) => {
        // the workflow was deleted meanwhile: the fire is recorded as skipped, not repaired later
        await this.fires.skipped(schedule.workflowId, dueAt)
        throw error
      })
  }

  /** Fires whose run was never stored (the process died in between) start their run now. */
  private async repair(): Promise<void> {
    for (const fire of await this.fires.toRepair()) {
      await this.engine
        .startRun(fire.workflow_id, fireInput(Number(fire.due_at), Number(fire.fired_at)), {
          id: fire.run_id,
        })
        .catch(() => {})
    }
  }
}
