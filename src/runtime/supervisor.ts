// The supervisor actor of one run: the only code that changes the run. A thin loop: take an event,
// ask `transition` what follows, checkpoint the changes, and only then carry out the effects.
import type { CompiledWorkflow } from '../definition/compile.js'
import { renderTemplate } from '../definition/template.js'
import type { Checkpoint, CheckpointWriter, NewRunRow, RunPatch, StepRow } from '../store/checkpoints.js'
import type { LogLevel } from '../workers/protocol.js'
import type { StepRunner } from './dispatch.js'
import { stepInputs } from './join.js'
import { defaultRunOutput } from './output.js'
import { RUN_ENDED, type RunState, type StepState } from './state.js'
import type { Timers } from './timers.js'
import { type Effect, type RunEvent, transition } from './transition.js'

export interface SupervisorDeps {
  /** Runs a step's action: in a worker, or inline for pure built-ins. */
  steps: StepRunner
  writer: CheckpointWriter
  timers: Timers
  now: () => number
  /** False while the engine drains: steps not yet started stay `running` and run after a restart. */
  accepting: () => boolean
  limits: { stepTimeoutMs: number; maxOutputBytes: number }
  /** Told of every change a checkpoint made durable, and of every log line. */
  observer?: RunObserver
  /** A checkpoint of the run failed (its lease was lost, or the database refused it): it stopped. */
  writeFailed?: (supervisor: Supervisor, error: unknown) => void
  /** Whether this process's leases were renewed recently enough to be surely held. */
  leaseValid?: () => boolean
  /** Renews the leases now; runs found lost meanwhile are stopped before it resolves. */
  renewLeases?: () => Promise<void>
}

export interface RunObserver {
  step?(runId: string, step: StepState): void
  run?(runId: string, state: RunState): void
  log?(runId: string, stepId: string | null, level: LogLevel, msg: string, data: unknown): void
  /** After each checkpoint and its effects: the engine may passivate a run that only waits. */
  settled?(supervisor: Supervisor): void
}

/**
 * The signal of a step that runs inline: such a step ends within the turn it started in, so there
 * is nothing to abort (and an AbortController per step is a measurable part of a quick step).
 */
const NEVER_ABORTED = new AbortController().signal

/** Pure steps run one after another, and for how long, before the supervisor lets the event loop turn. */
const MAX_CHAINED = 32
const MAX_CHAINED_MS = 2

export class Supervisor {
  readonly done: Promise<RunState>
  private resolveDone!: (state: RunState) => void
  /** Pure steps dispatched one after another within one turn of the event loop, since when. */
  private chained = 0
  private chainedSince = 0
  /** Steps whose action is running, with what stops it (nothing for inline steps). */
  private readonly aborts = new Map<string, AbortController | undefined>()
  /** `steps.<id>.output` for expressions and code: every step that delivered. */
  private readonly outputs: Record<string, { output: unknown }> = {}
  private stopped = false
  /** The lease epoch this process holds the run with: every checkpoint is fenced by it. */
  epoch = 1

  constructor(
    readonly workflow: CompiledWorkflow,
    readonly version: number,
    readonly state: RunState,
    private readonly trigger: unknown,
    private readonly deps: SupervisorDeps,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve
    })
    for (const step of state.steps.values())
      if (step.handle !== undefined) this.outputs[step.id] = { output: step.output }
  }

  /**
   * Starts the run. A run not yet stored passes its row, which is written in the same checkpoint as
   * its first steps; nothing runs before that checkpoint is durable, and the promise rejects if it
   * fails (the run then never existed).
   */
  start(inserting?: NewRunRow): Promise<void> {
    return this.receive({ type: 'start' }, inserting)
  }

  /**
   * After a restart or a retry: running steps run again, timers are armed, ready steps start. With
   * `maxInterruptions` (the run's process died), running steps count as interrupted.
   */
  resume(maxInterruptions?: number): void {
    this.receive({ type: 'resume', maxInterruptions })
  }

  cancel(reason = 'the run was cancelled'): void {
    this.receive({ type: 'cancel', reason })
  }

  /**
   * Leaves the run at once, writing nothing more: its lease is lost, or a write failed and the run
   * will be rebuilt from what is durable. Work in flight is aborted; its answers are dropped.
   */
  stop(): void {
    this.stopped = true
    this.passivate()
    for (const controller of this.aborts.values()) controller?.abort()
    // whoever waits on this supervisor (a cancel) is let go: the run goes on elsewhere
    this.resolveDone(this.state)
  }

  get isStopped(): boolean {
    return this.stopped
  }

  private receive(event: RunEvent, inserting?: NewRunRow): Promise<void> {
    if (this.stopped) return Promise.resolve()
    const runStatus = this.state.status
    const t = transition(this.workflow, this.state, event, this.deps.now())
    const idle = t.changed.size === 0 && t.effects.length === 0 && runStatus === this.state.status
    if (idle && !inserting) return Promise.resolve()
    // a resumed step's interruption must be durable before it runs again, even a pure one
    return this.commit(t.changed, t.effects, runStatus, inserting, event.type === 'resume')
  }

  private async commit(
    changed: Set<string>,
    effects: Effect[],
    previous: RunState['status'],
    inserting?: NewRunRow,
    durableFirst = false,
  ): Promise<void> {
    const runChanged = previous !== this.state.status
    const checkpoint: Checkpoint = {
      newRuns: inserting ? [inserting] : undefined,
      steps: [...changed].map((id) => this.row(this.state.steps.get(id)!)),
      fence: { runId: this.state.id, epoch: this.epoch },
    }
    // observers are told what this checkpoint holds, even when the run has moved on meanwhile
    const stepsTold = [...changed].map((id) => ({ ...this.state.steps.get(id)! }))
    const ended = effects.some((e) => e.type === 'ended')
    for (const id of changed) {
      const step = this.state.steps.get(id)!
      if (step.handle !== undefined) this.outputs[id] = { output: step.output }
      this.logOutcome(step)
    }
    if (ended || runChanged) {
      const patch: RunPatch = await this.runPatch(ended)
      if (previous === 'queued') patch.started_at = this.deps.now()
      checkpoint.runs = [patch]
    }
    const runTold = runChanged || ended ? { ...this.state } : undefined
    const durable = this.deps.writer.write(checkpoint)
    // A pure inline step has no effect that anyone could see before the rows before it are durable:
    // it may start at once. Anything else waits for the checkpoint, and so does everything of a run
    // whose own row is in this checkpoint (if it fails, the run never existed).
    const early =
      !inserting &&
      !durableFirst &&
      effects.length > 0 &&
      effects.every((e) => e.type === 'dispatch' && this.isPure(e.stepId))
    if (early) this.soon(() => this.performAll(effects))
    else this.chained = 0
    try {
      await durable
    } catch (error) {
      // a run being inserted never existed: its starter is told; any other run is left to the engine
      if (inserting) throw error
      this.stop()
      this.deps.writeFailed?.(this, error)
      return
    }
    if (this.stopped) return
    for (const step of stepsTold) this.deps.observer?.step?.(this.state.id, step)
    if (runTold) this.deps.observer?.run?.(this.state.id, runTold)
    if (!early) this.performAll(effects)
    this.deps.observer?.settled?.(this)
  }

  /**
   * Runs a pure step's dispatch as soon as may be: in this turn of the event loop, so that a line
   * of pure steps shares one commit, but after MAX_CHAINED of them, or MAX_CHAINED_MS of them, on
   * the next turn, so that a long line or heavy expressions do not hold up requests, timers and
   * commits meanwhile.
   */
  private soon(work: () => void): void {
    if (this.chained === 0) this.chainedSince = performance.now()
    if (this.chained < MAX_CHAINED && performance.now() - this.chainedSince < MAX_CHAINED_MS) {
      this.chained++
      queueMicrotask(work)
    } else {
      this.chained = 0
      setImmediate(work)
    }
  }

  private isPure(stepId: string): boolean {
    return this.deps.steps.runsInline(this.workflow.byId.get(stepId)!.uses)
  }

  private performAll(effects: Effect[]): void {
    for (const effect of effects) this.perform(effect)
  }

  /** Steps whose work is in a worker now. */
  get inFlight(): number {
    return this.aborts.size
  }

  /** The earliest due time of a waiting step, when the run only waits. */
  nextWake(): number | undefined {
    if (this.state.status !== 'waiting' || this.aborts.size > 0) return undefined
    let next: number | undefined
    for (const step of this.state.steps.values()) {
      if (step.status === 'waiting' && step.wakeAt !== undefined)
        next = Math.min(next ?? step.wakeAt, step.wakeAt)
    }
    return next
  }

  /** Leaves memory: the timers are dropped; the due times stay in the step rows. */
  passivate(): void {
    for (const step of this.state.steps.values()) this.deps.timers.cancel(this.timerKey(step.id))
  }

  private perform(effect: Effect): void {
    switch (effect.type) {
      case 'dispatch':
        void this.runStep(effect.stepId)
        break
      case 'timer':
        this.arm(effect.stepId, effect.at)
        break
      case 'abort':
        this.aborts.get(effect.stepId)?.abort()
        this.deps.timers.cancel(this.timerKey(effect.stepId))
        break
      case 'ended':
        this.resolveDone(this.state)
        break
    }
  }

  private arm(stepId: string, at: number): void {
    this.deps.timers.schedule(this.timerKey(stepId), at, () => this.receive({ type: 'due', stepId }))
  }

  private timerKey(stepId: string): string {
    return `${this.state.id}:${stepId}`
  }

  private scope(input: unknown, inputs: Record<string, unknown>) {
    return {
      trigger: this.trigger,
      steps: this.outputs,
      input,
      inputs,
      run: { id: this.state.id },
      workflow: { id: this.workflow.id, version: this.version },
    }
  }

  private async runStep(stepId: string): Promise<void> {
    const spec = this.workflow.byId.get(stepId)!
    const step = this.state.steps.get(stepId)!
    if (step.status !== 'running' || this.aborts.has(stepId) || !this.deps.accepting()) return
    const controller = this.deps.steps.runsInline(spec.uses) ? undefined : new AbortController()
    this.aborts.set(stepId, controller)
    try {
      // a step with effects starts only while the run's lease is surely held: after a stall (a
      // stopped process, a long pause) the leases are checked first, and a run lost meanwhile stops
      while (controller && this.deps.leaseValid && !this.deps.leaseValid()) {
        await this.deps.renewLeases?.()
        if (this.stopped || step.status !== 'running') return
        // the database did not answer: the lease cannot be vouched for, so wait for it
        if (!this.deps.leaseValid()) await new Promise((resolve) => setTimeout(resolve, 500))
      }
      const { input, inputs } = stepInputs(spec.needs, step.mailbox, this.trigger)
      let props: unknown
      try {
        props = await renderTemplate(spec.props, this.scope(input, inputs))
      } catch (error) {
        const message = `step '${stepId}': ${(error as Error).message}`
        this.receive({ type: 'failed', stepId, error: { code: 'EXPRESSION', message }, retryable: false })
        return
      }
      const runData = spec.action.runData === true
      const reply = await this.deps.steps.run(
        {
          uses: spec.uses,
          props,
          input,
          inputs,
          trigger: runData ? this.trigger : undefined,
          steps: runData ? this.outputs : undefined,
          run: { id: this.state.id, workflowId: this.workflow.id, workflowVersion: this.version },
          stepId,
          attempt: step.attempts,
          idempotencyKey: `${this.state.id}:${stepId}`,
          timeoutMs: spec.timeoutMs ?? this.deps.limits.stepTimeoutMs,
          maxOutputBytes: this.deps.limits.maxOutputBytes,
        },
        controller?.signal ?? NEVER_ABORTED,
        (level, msg, data) => this.log(stepId, level, msg, data),
      )
      // the engine is stopping and stopped this step's worker: it stays `running` and runs after restart
      if (!reply.ok && !this.deps.accepting()) return
      if (!reply.ok) {
        const { code, message, details } = reply.error
        this.receive({
          type: 'failed',
          stepId,
          error: details === undefined ? { code, message } : { code, message, details },
          retryable: reply.error.retryable,
          retryAfterMs: reply.error.retryAfterMs,
        })
      } else if (reply.kind === 'wait') {
        this.receive({ type: 'waiting', stepId, until: reply.until, value: JSON.parse(reply.json) })
      } else {
        this.receive({ type: 'delivered', stepId, handle: reply.handle, value: JSON.parse(reply.json) })
      }
    } finally {
      this.aborts.delete(stepId)
    }
  }

  /** Retries and failures go into the run's own log. */
  private logOutcome(step: StepState): void {
    if (!step.error || step.status === 'succeeded') return
    const { code, message } = step.error
    if (step.status === 'waiting' && step.wakeAt !== undefined) {
      const inMs = Math.max(0, step.wakeAt - this.deps.now())
      this.log(
        step.id,
        'warn',
        `attempt ${step.attempts} failed (${code}: ${message}); retrying in ${inMs} ms`,
      )
    } else if (step.status === 'failed') {
      this.log(step.id, 'error', `step failed after ${step.attempts} attempt(s): ${code}: ${message}`)
    }
  }

  log(stepId: string | null, level: LogLevel, text: string, data?: unknown): void {
    if (this.stopped) return
    // PostgreSQL text holds no NUL: a step's `console.log('\0')` must not cost its commit
    const msg = text.includes('\0') ? text.replaceAll('\0', '\\0') : text
    this.deps.writer.log({
      run_id: this.state.id,
      step_id: stepId,
      ts: this.deps.now(),
      level,
      msg,
      data: data === undefined ? null : JSON.stringify(data),
    })
    this.deps.observer?.log?.(this.state.id, stepId, level, msg, data)
  }

  private async runPatch(ended: boolean): Promise<RunPatch> {
    const state = this.state
    if (!ended || !RUN_ENDED.has(state.status)) return { id: state.id, status: state.status }
    let output: unknown = null
    if (state.status === 'succeeded') {
      try {
        output = this.workflow.output
          ? await renderTemplate(this.workflow.output, this.scope(null, {}))
          : defaultRunOutput(state.steps, this.workflow.dependents)
      } catch (error) {
        state.status = 'failed'
        state.error = { code: 'EXPRESSION', message: `workflow output: ${(error as Error).message}` }
      }
    }
    if (state.status === 'succeeded') state.output = output
    return {
      id: state.id,
      status: state.status,
      output: state.status === 'succeeded' ? JSON.stringify(output) : null,
      error: state.error && state.status !== 'succeeded' ? JSON.stringify(state.error) : null,
      finished_at: this.deps.now(),
    }
  }

  row(step: StepState): StepRow {
    return {
      run_id: this.state.id,
      step_id: step.id,
      status: step.status,
      attempts: step.attempts,
      interruptions: step.interruptions,
      handle: step.handle ?? null,
      output: step.output === undefined ? null : JSON.stringify(step.output),
      error: step.error ? JSON.stringify(step.error) : null,
      wake_at: step.wakeAt ?? null,
      started_at: step.startedAt ?? null,
      finished_at: step.finishedAt ?? null,
    }
  }
}
