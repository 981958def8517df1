// Schedule triggers: each due time of a workflow's cron fires once across restarts and processes,
// because firing means inserting the unique (workflow, due time) row first. A due time missed while
// no engine ran fires once at start (the latest one); older misses are not replayed.
import { randomUUID } from 'node:crypto'
import type { Knex } from '@mikro-orm/knex'
import { Cron } from 'croner'
import type { CompiledWorkflow } from '../definition/compile.js'
import type { Engine } from '../runtime/engine.js'

interface Schedule {
  workflowId: string
  cron: Cron
  overlap: 'skip' | 'allow'
  /** Due times up to here have been dealt with by this process. */
  checkedUntil: number
}

function fireInput(dueAt: number, firedAt: number) {
  return { scheduledAt: new Date(dueAt).toISOString(), firedAt: new Date(firedAt).toISOString() }
}

export function scheduleCron(workflow: CompiledWorkflow): Cron {
  const props = workflow.trigger.props as { cron: string; timezone?: string }
  return new Cron(props.cron, { timezone: props.timezone ?? 'UTC', paused: true })
}

export class Scheduler {
  private schedules = new Map<string, Schedule>()
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly engine: Engine,
    private readonly tickMs = 1000,
  ) {
    engine.events.on('workflow', () => void this.reload().catch(() => {}))
  }

  private get knex(): Knex {
    return this.engine.db.knex
  }

  async start(): Promise<void> {
    await this.reload()
    await this.repair()
    await this.tick()
    // re-read every tick: another process sharing the database may have changed the schedules
    this.timer = setInterval(
      () =>
        void this.reload()
          .catch(() => {})
          .then(() => this.tick()),
      this.tickMs,
    )
    this.timer.unref()
  }

  stop(): Promise<void> | undefined {
    this.stopped = true
    clearInterval(this.timer)
    return this.ticking
  }

  async reload(): Promise<void> {
    const next = new Map<string, Schedule>()
    for (const { workflow } of await this.engine.liveWorkflows('schedule')) {
      const previous = this.schedules.get(workflow.id)
      const last = await this.knex('schedule_fires')
        .where({ workflow_id: workflow.id })
        .max({ at: 'due_at' })
        .first()
      // deleted since it was listed: gone from the schedules
      const stored = await this.engine.workflows.get(workflow.id).catch(() => undefined)
      if (!stored) continue
      // without any fire yet, a schedule starts from when the workflow was stored: no backlog
      const from = last?.at != null ? Number(last.at) : stored.createdAt
      next.set(workflow.id, {
        workflowId: workflow.id,
        cron: scheduleCron(workflow),
        overlap: (workflow.trigger.props as { overlap?: 'skip' | 'allow' }).overlap ?? 'skip',
        checkedUntil: Math.max(previous?.checkedUntil ?? 0, from),
      })
    }
    this.schedules = next
  }

  /** Fires what is due: of the due times since the last check, only the latest. */
  tick(): Promise<void> {
    if (this.ticking || this.stopped) return this.ticking ?? Promise.resolve()
    this.ticking = (async () => {
      const now = Date.now()
      for (const schedule of this.schedules.values()) {
        let due: number | undefined
        let cursor = new Date(schedule.checkedUntil)
        for (;;) {
          const next = schedule.cron.nextRun(cursor)
          if (!next || next.getTime() > now) break
          due = next.getTime()
          cursor = next
        }
        schedule.checkedUntil = now
        if (due !== undefined) await this.fire(schedule, due, now).catch(() => {})
      }
    })().finally(() => {
      this.ticking = undefined
    })
    return this.ticking
  }

  private async fire(schedule: Schedule, dueAt: number, now: number): Promise<void> {
    const inFlight =
      schedule.overlap === 'skip' &&
      (await this.knex('runs')
        .where({ workflow_id: schedule.workflowId })
        .whereIn('status', ['queued', 'running', 'waiting'])
        .first('id'))
    // the run's id is fixed in the fire row first: a crash before the run is stored is repaired at start
    const runId = randomUUID()
    const inserted = await this.knex('schedule_fires')
      .insert({
        workflow_id: schedule.workflowId,
        due_at: dueAt,
        fired_at: now,
        run_id: inFlight ? null : runId,
        outcome: inFlight ? 'skipped' : 'started',
      })
      .onConflict(['workflow_id', 'due_at'])
      .ignore()
      .returning('due_at')
    // another process, or an earlier life of this one, fired this due time already
    if (inserted.length === 0 || inFlight) return
    await this.engine
      .startRun(schedule.workflowId, fireInput(dueAt, now), { id: runId })
      .catch(async (error) => {
        // the workflow was deleted meanwhile: the fire is recorded as skipped, not repaired later
        await this.knex('schedule_fires')
          .where({ workflow_id: schedule.workflowId, due_at: dueAt })
          .update({ outcome: 'skipped', run_id: null })
        throw error
      })
  }

  /** Fires whose run was never stored (the process died in between) start their run now. */
  private async repair(): Promise<void> {
    const orphans: { workflow_id: string; due_at: unknown; fired_at: unknown; run_id: string }[] =
      await this.knex('schedule_fires as f')
        .leftJoin('runs as r', 'r.id', 'f.run_id')
        .join('workflows as w', 'w.id', 'f.workflow_id')
        .where('f.outcome', 'started')
        .whereNull('r.id')
        .whereNull('w.deleted_at')
        .select('f.workflow_id', 'f.due_at', 'f.fired_at', 'f.run_id')
    for (const fire of orphans) {
      await this.engine
        .startRun(fire.workflow_id, fireInput(Number(fire.due_at), Number(fire.fired_at)), {
          id: fire.run_id,
        })
        .catch(() => {})
    }
  }
}
