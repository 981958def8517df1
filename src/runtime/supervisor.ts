// The supervisor actor of one run: the only code that changes the run. A thin loop: take an event,
// ask `transition` what follows, checkpoint the changes, and only then carry out the effects.
import { createHash } from 'node:crypto'
import type { CompiledStep, CompiledWorkflow } from '../definition/compile.js'
import { EXPRESSION_FUNCTIONS, renderTemplate } from '../definition/template.js'
import { EngineError } from '../errors.js'
import type { SecretAccess } from '../secrets/vault.js'
import type {
  Checkpoint,
  CheckpointWriter,
  ItemRow,
  NewRunRow,
  RunPatch,
  SignalTake,
} from '../store/checkpoints.js'
import { stepRow } from '../store/step-rows.js'
import type { LogLevel, StepReply, StepTask } from '../workers/protocol.js'
import type { LeaseCheck, StepRunner } from './dispatch.js'
import { expressionFailure, scrubValue } from './expression-failure.js'
import { ForEachSteps, failure } from './for-each-step.js'
import { stepInputs } from './join.js'
import { failureInput, failureRunRow } from './on-failure.js'
import { defaultRunOutput } from './output.js'
import { runFunctions, type SignalUrlMaker } from './run-functions.js'
import {
  type BufferedSignal,
  type ChildOutcome,
  childSignal,
  RUN_ENDED,
  type RunState,
  type StepError,
  type StepState,
} from './state.js'
import type { Timers } from './timers.js'
import { type Effect, type RunEvent, transition, waitsForChild } from './transition.js'

/** A child run a `workflow.run` step starts. */
export interface ChildStart {
  id: string
  workflow: string
  version?: number
  input: unknown
  parent: { runId: string; stepId: string; waits: boolean }
  depth: number
}

/**
 * A child run not stored yet: its row is written in the parent's checkpoint that records its start,
 * and `begin` starts it once that checkpoint is handed to the writer (`durable`: when it is stored).
 */
export interface NewChild {
  row: NewRunRow
  begin(durable: Promise<void>): void
}

/** What the v2 constructs need from the engine and the store. */
export interface RunLinks {
  /**
   * Starts the child run with this id, unless it exists already (a restart); throws an
   * EngineError (NOT_FOUND, DEPTH_EXCEEDED) when it cannot.
   */
  startChild(child: ChildStart): Promise<void>
  /** A child run that cannot exist yet (its attempt began in this process), to be stored with the parent's checkpoint. */
  newChild?(child: ChildStart): Promise<NewChild>
  /**
   * The parent of a child run that is ending, when this process holds it and its step waits for
   * this child: the parent takes the child's end in memory, into the commit of that end, rather
   * than after reading the end back once stored. Undefined: the end goes by the database.
   */
  waitingParent?(
    parent: { runId: string; stepId: string },
    childRunId: string,
  ): { take(outcome: ChildOutcome): void } | undefined
  /** The items of a `forEach` step that have ended, as checkpointed. */
  endedItems(runId: string, stepId: string): Promise<ItemRow[]>
  /** The signals of the run that no step has taken yet, oldest first. */
  untakenSignals(runId: string): Promise<BufferedSignal[]>
  /** Makes the signed link of `$signalUrl(name)`; without it, that function fails the expression. */
  signalUrl?: SignalUrlMaker | undefined
  /** The values of `$secret(name)`, and their scrubber; without them, that function fails. */
  secrets?: SecretAccess | undefined
  /**
   * The version of the workflow an `onFailure` names, for a handler run this deep; or why none is
   * started (the workflow does not exist, or the chain of handlers is too deep).
   */
  failureHandler?(workflowId: string, depth: number): Promise<{ version: number } | { skipped: string }>
}

export interface SupervisorDeps {
  /** Runs a step's action: in a worker, or inline for pure built-ins. */
  steps: StepRunner
  writer: CheckpointWriter
  timers: Timers
  now: () => number
  /** False while the engine drains: steps not yet started stay `running` and run after a restart. */
  accepting: () => boolean
  limits: { stepTimeoutMs: number; maxOutputBytes: number; maxItems: number }
  links: RunLinks
  /** Told of every change a checkpoint made durable, and of every log line. */
  observer?: RunObserver
  /** A checkpoint of the run failed (its lease was lost, or the database refused it): it stopped. */
  writeFailed?: (supervisor: Supervisor, error: unknown) => void
  /** This process's leases on its runs: a step with effects starts only while they are sure. */
  leases?: LeaseCheck
  /**
   * After how long a `forEach` step whose items all wait for child runs parks (so that the run can
   * leave memory); undefined: never (nothing would bring a run back, as in `piecework run`).
   */
  parkAfterMs?: () => number | undefined
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
  /**
   * Checkpoints written and not yet followed by their effects. While one is, the run may not leave
   * memory even if its state says it only waits: the timer its effects arm would outlive it.
   */
  private commitsInFlight = 0
  /** `steps.<id>.output` for expressions and code: every step that delivered. */
  private readonly outputs: Record<string, { output: unknown }> = {}
  private stopped = false
  /** The lease epoch this process holds the run with: every checkpoint is fenced by it. */
  epoch = 1
  /** The `forEach` steps of the run, as they run here. */
  private readonly forEach: ForEachSteps
  /**
   * The attempt of each step found running as this supervisor began (a restart, a takeover), by its
   * start and number: it may have started its child already. Any other attempt began here.
   */
  private readonly resumedStarts?: Map<string, string>

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
    for (const step of state.steps.values()) {
      if (step.handle !== undefined) this.outputs[step.id] = { output: step.output }
      if (step.status === 'running') {
        this.resumedStarts ??= new Map()
        this.resumedStarts.set(step.id, attemptKey(step))
      }
    }
    const self = this
    this.forEach = new ForEachSteps({
      state,
      deps,
      get epoch() {
        return self.epoch
      },
      get isStopped() {
        return self.stopped
      },
      scope: (input, inputs, item) => this.scope(input, inputs, item),
      task: (spec, step, props, input, inputs, item) => this.task(spec, step, props, input, inputs, item),
      startChild: (spec, step, reply, index, attempt) => this.startChild(spec, step, reply, index, attempt),
      receive: (event) => this.receive(event),
      checkSignals: () => this.checkSignals(),
      log: (stepId, level, text, data) => this.log(stepId, level, text, data),
      takeRow: (signalId, takenBy) => this.takeRow(signalId, takenBy),
      released: (stepId) => this.aborts.delete(stepId),
    })
  }

  /**
   * Starts the run. A run not yet stored passes its row, which is written in the same checkpoint as
   * its first steps; only pure steps run before that checkpoint is durable (their rows follow it),
   * and the promise rejects if it fails (the run then never existed, and stops).
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

  /** Whether the step waits for the end of this child run (and is not a `forEach`). */
  waitsForChild(stepId: string, childRunId: string): boolean {
    const step = this.state.steps.get(stepId)
    return !this.stopped && step !== undefined && waitsForChild(this.workflow, step, childRunId)
  }

  /** The child run this step waits for ended: handed over in memory by the child, as it ends. */
  childEnded(stepId: string, outcome: ChildOutcome): void {
    void this.receive({ type: 'childEnded', stepId, outcome })
  }

  get isStopped(): boolean {
    return this.stopped
  }

  private receive(event: RunEvent, inserting?: NewRunRow, child?: NewChild): Promise<void> {
    if (this.stopped) return Promise.resolve()
    // an expression's error may quote a secret's value (`$number($secret('pin'))`)
    if (event.type === 'failed') event = { ...event, error: scrubValue(this.deps.links.secrets, event.error) }
    const runStatus = this.state.status
    const t = transition(this.workflow, this.state, event, this.deps.now())
    const idle = t.changed.size === 0 && t.effects.length === 0 && runStatus === this.state.status
    if (idle && !inserting) return Promise.resolve()
    const takes = t.taken.map(({ signalId, stepId }) => this.takeRow(signalId, stepId))
    // a new child is stored only with the step that took it (not one cancelled meanwhile)
    const took = child && 'stepId' in event && this.state.steps.get(event.stepId)?.childRunId === child.row.id
    // a resumed step's interruption must be durable before it runs again, even a pure one
    const durableFirst = event.type === 'resume'
    return this.commit(
      t.changed,
      t.effects,
      runStatus,
      inserting,
      durableFirst,
      takes,
      took ? child : undefined,
    )
  }

  private takeRow(signalId: number, takenBy: string): SignalTake {
    return { id: signalId, run_id: this.state.id, taken_by: takenBy, taken_at: this.deps.now() }
  }

  /**
   * A signal stored for this run: a `forEach` item waiting for its child's end takes it, else the
   * first step waiting for its name, else it is buffered. Answers who took it (null: buffered).
   */
  deliver(signal: BufferedSignal): string | null {
    if (this.stopped || RUN_ENDED.has(this.state.status)) return null
    const known = this.state.taken?.get(signal.id)
    if (known !== undefined) return known
    if (this.forEach.deliverChildEnd(signal)) return this.state.taken?.get(signal.id) ?? null
    void this.receive({ type: 'signal', signal })
    return this.state.taken?.get(signal.id) ?? null
  }

  /** Reads the run's signals not taken yet and delivers those not seen (another process stored them). */
  async checkSignals(): Promise<void> {
    const signals = await this.deps.links.untakenSignals(this.state.id)
    for (const signal of signals) {
      if (this.state.signals.some((s) => s.id === signal.id)) continue
      this.deliver(signal)
    }
  }

  private async commit(
    changed: Set<string>,
    effects: Effect[],
    previous: RunState['status'],
    inserting?: NewRunRow,
    durableFirst = false,
    takes: SignalTake[] = [],
    child?: NewChild,
  ): Promise<void> {
    const runChanged = previous !== this.state.status
    let handOver: (() => void) | undefined
    const checkpoint: Checkpoint = {
      newRuns: inserting ? [inserting] : undefined,
      steps: [...changed].map((id) => stepRow(this.state.id, this.state.steps.get(id)!)),
      takes: takes.length > 0 ? takes : undefined,
      fence: { runId: this.state.id, epoch: this.epoch },
    }
    if (child) checkpoint.newRuns = [...(checkpoint.newRuns ?? []), child.row]
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
      // the run of its `onFailure` workflow is stored with the failure: both or neither
      if (ended && this.state.status === 'failed' && this.workflow.definition.onFailure) {
        const handler = await this.failureRun(this.workflow.definition.onFailure, patch.finished_at ?? 0)
        if (handler) checkpoint.newRuns = [...(checkpoint.newRuns ?? []), handler]
      }
      // the parent waiting for this run learns of its end in the same checkpoint; held here, it
      // takes it at once, and the signal is stored taken if the parent's rows are written with it
      const parent = this.state.parent
      if (ended && parent?.waits && RUN_ENDED.has(this.state.status)) {
        const outcome: ChildOutcome = {
          runId: this.state.id,
          status: this.state.status,
          output: this.state.output,
          error: this.state.error,
        }
        const waiting = this.deps.links.waitingParent?.(parent, this.state.id)
        const now = this.deps.now()
        checkpoint.signals = [
          {
            run_id: parent.runId,
            name: childSignal(parent.stepId),
            data: JSON.stringify(outcome),
            created_at: now,
            sender_run_id: this.state.id,
            ...(waiting ? { taken_by: parent.stepId, taken_at: now } : {}),
          },
        ]
        if (waiting) handOver = () => waiting.take(outcome)
      }
    }
    const runTold = runChanged || ended ? { ...this.state } : undefined
    const durable = this.deps.writer.write(checkpoint)
    // its first rows follow its own row, into the same commit or a later one
    child?.begin(durable)
    // the parent's rows that take this run's end join this commit
    handOver?.()
    // A pure inline step has no effect that anyone could see before the rows before it are durable,
    // nor has stopping work whose end this checkpoint records: both may happen at once, even in a run
    // whose own row is in this checkpoint (its rows follow it into the same commit or a later one,
    // and are refused by their fence if it fails). Anything else waits for the checkpoint.
    const early = !durableFirst && effects.length > 0 && effects.every((e) => this.mayPrecede(e))
    if (early) this.soon(() => this.performAll(effects))
    else this.chained = 0
    this.commitsInFlight++
    try {
      await durable
    } catch (error) {
      this.stop()
      // a run being inserted never existed: its starter is told; any other run is left to the engine
      if (inserting) throw error
      this.deps.writeFailed?.(this, error)
      return
    } finally {
      this.commitsInFlight--
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

  /**
   * Whether a step may start before the checkpoint that began it is durable: inline steps, but not
   * a `forEach` step (its items are checkpointed against the step). A step that starts a child run
   * may, when its attempt began here: the child's row goes into the step's checkpoint that names
   * it, held by the run's fence, so the child is stored only with the step's start and never apart.
   */
  private isPure(stepId: string): boolean {
    const spec = this.workflow.byId.get(stepId)!
    if (!this.deps.steps.runsInline(spec.uses) || spec.forEach) return false
    return spec.uses !== 'workflow.run' || (this.deps.links.newChild !== undefined && this.beganHere(stepId))
  }

  /** Whether the step's current attempt began in this process (it cannot have started a child before). */
  private beganHere(stepId: string): boolean {
    return this.resumedStarts?.get(stepId) !== attemptKey(this.state.steps.get(stepId)!)
  }

  /** Whether an effect may take place before the checkpoint that decided it is durable. */
  private mayPrecede(effect: Effect): boolean {
    return effect.type === 'abort' || (effect.type === 'dispatch' && this.isPure(effect.stepId))
  }

  private performAll(effects: Effect[]): void {
    for (const effect of effects) this.perform(effect)
  }

  /** Steps whose work is in a worker now. */
  get inFlight(): number {
    return this.aborts.size
  }

  /**
   * The earliest due time of a waiting step when the run only waits (Infinity when it waits only
   * for signals); undefined when something runs or a checkpoint's effects are still to come.
   */
  nextWake(): number | undefined {
    if (this.state.status !== 'waiting' || this.aborts.size > 0 || this.commitsInFlight > 0) return undefined
    let next = Number.POSITIVE_INFINITY
    for (const step of this.state.steps.values()) {
      if (step.status === 'waiting' && step.wakeAt !== undefined) next = Math.min(next, step.wakeAt)
    }
    return next
  }

  /**
   * Whether the run waits for nothing but signals from outside (no timer, no step in flight, no
   * child run): only someone sending a signal can move it on.
   */
  waitsOnlyForSignals(): boolean {
    if (this.state.status !== 'waiting' || this.aborts.size > 0 || this.forEach.waitingForChildren)
      return false
    for (const step of this.state.steps.values()) {
      if (step.status !== 'waiting') continue
      if (!step.wait || step.wait.until !== undefined || step.wait.signal.startsWith('child:')) return false
    }
    return true
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

  private scope(input: unknown, inputs: Record<string, unknown>, item?: { value: unknown; index: number }) {
    const scope = {
      trigger: this.trigger,
      steps: this.outputs,
      input,
      inputs,
      run: { id: this.state.id },
      workflow: { id: this.workflow.id, version: this.version },
      [EXPRESSION_FUNCTIONS]: runFunctions(this.state.id, this.deps.links.signalUrl, this.deps.links.secrets),
    }
    return item ? { ...scope, item: item.value, index: item.index } : scope
  }

  private async runStep(stepId: string): Promise<void> {
    const spec = this.workflow.byId.get(stepId)!
    const step = this.state.steps.get(stepId)!
    if (step.status !== 'running' || this.aborts.has(stepId) || !this.deps.accepting()) return
    const controller =
      this.deps.steps.runsInline(spec.uses) && !spec.forEach ? undefined : new AbortController()
    this.aborts.set(stepId, controller)
    try {
      // a step with effects starts only while the run's lease is surely held: after a stall (a
      // stopped process, a long pause) the leases are checked first, and a run lost meanwhile stops
      if (controller && this.deps.leases && !this.deps.leases.valid()) {
        const givenUp = () => this.stopped || step.status !== 'running'
        await this.deps.leases.confirm(givenUp)
        if (givenUp()) return
      }
      const { input, inputs } = stepInputs(spec.needs, step.mailbox, this.trigger)
      if (spec.forEach) return await this.forEach.run(spec, step, input, inputs, controller!.signal)
      let props: unknown
      try {
        props = await renderTemplate(spec.props, this.scope(input, inputs))
      } catch (error) {
        this.receive({
          type: 'failed',
          stepId,
          error: expressionFailure(`step '${stepId}'`, error),
          retryable: false,
        })
        return
      }
      const reply = await this.deps.steps.run(
        this.task(spec, step, props, input, inputs),
        controller?.signal ?? NEVER_ABORTED,
        (level, msg, data) => this.log(stepId, level, msg, data),
      )
      // the engine is stopping and stopped this step's worker: it stays `running` and runs after restart
      if (!reply.ok && !this.deps.accepting()) return
      if (!reply.ok) {
        this.receive({ type: 'failed', stepId, ...failure(reply.error) })
      } else if (reply.kind === 'child') {
        const started = await this.startChild(spec, step, reply, undefined, step.attempts)
        if ('error' in started)
          this.receive({ type: 'failed', stepId, error: started.error, retryable: false })
        else if (!reply.wait)
          this.receive(
            {
              type: 'delivered',
              stepId,
              handle: 'out',
              value: { runId: started.runId },
              childRunId: started.runId,
            },
            undefined,
            started.child,
          )
        else
          this.receive(
            {
              type: 'waiting',
              stepId,
              value: null,
              wait: { signal: childSignal(stepId) },
              childRunId: started.runId,
            },
            undefined,
            started.child,
          )
      } else if (reply.kind === 'wait') {
        const value = JSON.parse(reply.json)
        const wait = reply.signal && { signal: reply.signal.name, key: reply.signal.key, until: reply.until }
        this.receive({ type: 'waiting', stepId, until: reply.until, value, wait })
      } else {
        this.receive({ type: 'delivered', stepId, handle: reply.handle, value: JSON.parse(reply.json) })
      }
    } finally {
      this.aborts.delete(stepId)
    }
  }

  private task(
    spec: CompiledStep,
    step: StepState,
    props: unknown,
    input: unknown,
    inputs: Record<string, unknown>,
    item?: { value: unknown; index: number; attempt: number },
  ): Omit<StepTask, 'taskId'> {
    const runData = spec.action.runData === true
    return {
      uses: spec.uses,
      props,
      input,
      inputs,
      trigger: runData ? this.trigger : undefined,
      steps: runData ? this.outputs : undefined,
      run: { id: this.state.id, workflowId: this.workflow.id, workflowVersion: this.version },
      stepId: spec.id,
      item: item && { value: item.value, index: item.index },
      attempt: item ? item.attempt : step.attempts,
      idempotencyKey: item ? `${this.state.id}:${spec.id}:${item.index}` : `${this.state.id}:${spec.id}`,
      timeoutMs: spec.timeoutMs ?? this.deps.limits.stepTimeoutMs,
      maxOutputBytes: this.deps.limits.maxOutputBytes,
    }
  }

  /**
   * Starts the child run of a `workflow.run` step (or item). Its id follows from the step's start,
   * the item and the attempt, so that a restart finds the child it started rather than a second one.
   */
  private async startChild(
    spec: CompiledStep,
    step: StepState,
    reply: Extract<StepReply, { kind: 'child' }>,
    index: number | undefined,
    attempt: number,
  ): Promise<{ runId: string; child?: NewChild | undefined } | { error: StepError }> {
    if (!this.deps.steps.runsInline(spec.uses))
      return {
        error: { code: 'FORBIDDEN', message: `${spec.uses} may not start runs (only built-in pieces may)` },
      }
    const runId = childRunId(this.state.id, spec.id, step.startedAt ?? 0, index, attempt)
    const start: ChildStart = {
      id: runId,
      workflow: reply.workflow,
      version: reply.version,
      input: JSON.parse(reply.input),
      parent: { runId: this.state.id, stepId: spec.id, waits: reply.wait },
      depth: this.state.depth + 1,
    }
    // an attempt of a step (not an item) that began here cannot have started its child before:
    // the child's row goes into the checkpoint that records the start
    const began = index === undefined && this.beganHere(spec.id)
    try {
      if (began && this.deps.links.newChild) return { runId, child: await this.deps.links.newChild(start) }
      await this.deps.links.startChild(start)
      return { runId }
    } catch (error) {
      const code = error instanceof EngineError ? error.code : 'CHILD_NOT_STARTED'
      return { error: { code, message: `step '${spec.id}': ${(error as Error).message}` } }
    }
  }

  /** The queued run of the failure handler, its id following from this failure (its end time). */
  private async failureRun(workflowId: string, finishedAt: number): Promise<NewRunRow | undefined> {
    const depth = this.state.depth + 1
    const found = await this.deps.links.failureHandler?.(workflowId, depth)
    if (!found) return undefined
    if ('skipped' in found) {
      this.log(null, 'warn', `onFailure: ${found.skipped}`)
      return undefined
    }
    const id = childRunId(this.state.id, '$onFailure', finishedAt, undefined, 0)
    this.log(null, 'info', `onFailure: run ${id} of workflow '${workflowId}' started`)
    const input = failureInput(this.state, this.workflow.id, this.version)
    return failureRunRow(id, { workflowId, version: found.version }, input, depth, this.deps.now())
  }

  /** Retries and failures go into the run's own log. */
  private logOutcome(step: StepState): void {
    if (!step.error || step.status === 'succeeded') return
    const { code, message } = step.error
    if (step.status === 'waiting' && step.wakeAt !== undefined) {
      const inMs = Math.max(0, step.wakeAt - this.deps.now())
      // the data lets a reader (the run monitor's timeline) place each attempt and wait
      this.log(
        step.id,
        'warn',
        `attempt ${step.attempts} failed (${code}: ${message}); retrying in ${inMs} ms`,
        {
          attempt: step.attempts,
          code,
          retryInMs: inMs,
        },
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
    // a secret's value in the run's output is scrubbed (see docs/workflows.md, secrets)
    output = scrubValue(this.deps.links.secrets, output)
    if (state.status === 'succeeded') state.output = output
    return {
      id: state.id,
      status: state.status,
      output: state.status === 'succeeded' ? JSON.stringify(output) : null,
      error: state.error && state.status !== 'succeeded' ? JSON.stringify(state.error) : null,
      finished_at: this.deps.now(),
    }
  }
}

/** An attempt of a step, by its start and number. */
function attemptKey(step: StepState): string {
  return `${step.startedAt}/${step.attempts}`
}

/** The id of the child run a step (item, attempt) starts: the same after a restart. */
export function childRunId(
  runId: string,
  stepId: string,
  startedAt: number,
  index: number | undefined,
  attempt: number,
): string {
  const hex = createHash('sha256')
    .update(`${runId}/${stepId}/${startedAt}/${index ?? '-'}/${attempt}`)
    .digest('hex')
  // shaped as a UUID (version 8: custom), like the ids of runs started from outside
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((Number.parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
