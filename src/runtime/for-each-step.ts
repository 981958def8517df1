// A `forEach` step as the supervisor runs it: the item lanes (src/runtime/for-each.ts has their
// rules), one attempt of one item through the step runner, each ended item checkpointed as a row,
// the ends of the items' child runs, and parking a step whose items all wait for their children
// so that the run can leave memory. The supervisor hands in what this needs (ForEachHost).
import type { CompiledStep } from '../definition/compile.js'
import { renderTemplate } from '../definition/template.js'
import type { CheckpointWriter, SignalTake } from '../store/checkpoints.js'
import type { LogLevel, StepReply, StepTask } from '../workers/protocol.js'
import type { StepRunner } from './dispatch.js'
import { expressionFailure } from './expression-failure.js'
import { type ItemAttempt, type ItemResult, pause, runItems } from './for-each.js'
import { jitterDraw, retryDelay } from './retry.js'
import {
  type BufferedSignal,
  type ChildOutcome,
  childSignal,
  type RunState,
  type StepError,
  type StepState,
} from './state.js'
import type { RunLinks } from './supervisor.js'
import type { RunEvent } from './transition.js'

type Item = { value: unknown; index: number; attempt: number }

/** What a `forEach` step needs of its run's supervisor. */
export interface ForEachHost {
  readonly state: RunState
  readonly epoch: number
  readonly isStopped: boolean
  readonly deps: {
    steps: StepRunner
    writer: CheckpointWriter
    links: RunLinks
    limits: { maxOutputBytes: number; maxItems: number }
    now: () => number
    accepting: () => boolean
    parkAfterMs?: () => number | undefined
  }
  scope(input: unknown, inputs: Record<string, unknown>, item?: Item): unknown
  task(
    spec: CompiledStep,
    step: StepState,
    props: unknown,
    input: unknown,
    inputs: Record<string, unknown>,
    item: Item,
  ): Omit<StepTask, 'taskId'>
  startChild(
    spec: CompiledStep,
    step: StepState,
    reply: Extract<StepReply, { kind: 'child' }>,
    index: number | undefined,
    attempt: number,
  ): Promise<{ runId: string } | { error: StepError }>
  receive(event: RunEvent): Promise<void>
  checkSignals(): Promise<void>
  log(stepId: string | null, level: LogLevel, text: string, data?: unknown): void
  takeRow(signalId: number, takenBy: string): SignalTake
  /** The step runs nothing any more (it parked): the run may leave memory. */
  released(stepId: string): void
}

export class ForEachSteps {
  /** `forEach` items waiting for the end of their child run, by the child's run id. */
  private readonly childWaiters = new Map<string, (signal: BufferedSignal) => void>()

  constructor(private readonly host: ForEachHost) {}

  /** A child's end taken by an item (durable with the item's row, or given back if the step parks). */
  private taken(signalId: number, takenBy: string): void {
    this.host.state.taken ??= new Map()
    this.host.state.taken.set(signalId, takenBy)
  }

  /** Whether some item here waits for its child's end. */
  get waitingForChildren(): boolean {
    return this.childWaiters.size > 0
  }

  /** Hands a child's end to the item waiting for it; false when no item waits for it here. */
  deliverChildEnd(signal: BufferedSignal): boolean {
    const child = signal.name.startsWith('child:') ? (signal.data as ChildOutcome | null)?.runId : undefined
    const waiter = child === undefined ? undefined : this.childWaiters.get(child)
    if (!waiter) return false
    this.childWaiters.delete(child!)
    waiter(signal)
    return true
  }

  /** Runs a `forEach` step: its items (src/runtime/for-each.ts), then one event for the step. */
  async run(
    spec: CompiledStep,
    step: StepState,
    input: unknown,
    inputs: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    const stepId = spec.id
    let items: unknown
    try {
      items = await renderTemplate(spec.forEach!.items, this.host.scope(input, inputs))
    } catch (error) {
      const message = `step '${stepId}': forEach: ${(error as Error).message}`
      return this.host.receive({
        type: 'failed',
        stepId,
        error: { code: 'EXPRESSION', message },
        retryable: false,
      })
    }
    if (!Array.isArray(items)) {
      const got = items === null ? 'null' : typeof items
      const message = `step '${stepId}': forEach items must be an array, got ${got}`
      return this.host.receive({
        type: 'failed',
        stepId,
        error: { code: 'EXPRESSION', message },
        retryable: false,
      })
    }
    if (items.length > this.host.deps.limits.maxItems) {
      const message = `step '${stepId}': forEach has ${items.length} items, over the limit of ${this.host.deps.limits.maxItems} (runs.maxItems)`
      return this.host.receive({
        type: 'failed',
        stepId,
        error: { code: 'TOO_MANY_ITEMS', message },
        retryable: false,
      })
    }
    if (step.itemsTotal !== items.length)
      await this.host.receive({ type: 'items', stepId, total: items.length })
    if (this.host.isStopped || step.status !== 'running') return
    const finished = new Map<number, ItemResult>()
    // the ends of children that came while the step was parked (or before a restart) are buffered
    if (step.attempts > 0 && spec.uses === 'workflow.run') await this.host.checkSignals()
    if (step.attempts > 0)
      for (const row of await this.host.deps.links.endedItems(this.host.state.id, stepId)) {
        // items of an earlier start of the step (a retried run) are not this start's
        if (Number(row.started_at) !== (step.startedAt ?? 0)) continue
        finished.set(Number(row.idx), {
          index: Number(row.idx),
          ok: row.status === 'succeeded',
          attempts: Number(row.attempts),
          output: row.output === null ? undefined : JSON.parse(row.output),
          error: row.error === null ? undefined : JSON.parse(row.error),
        })
      }
    // lanes stop when the step does, or when it parks (src/runtime/for-each.ts has the rules)
    const lanes: Lanes = { active: 0, waiting: 0, parked: false, stop: new AbortController() }
    signal.addEventListener('abort', () => lanes.stop.abort(), { once: true })
    this.lanes.set(stepId, lanes)
    const outcome = await runItems({
      items,
      concurrency: spec.forEach!.concurrency,
      onError: spec.onError,
      finished,
      signal: lanes.stop.signal,
      attempt: (index, item, attempt, itemSignal) =>
        this.runItem(spec, step, input, inputs, { value: item, index, attempt }, itemSignal),
      retryDelay: (index, attempt, failed) =>
        retryDelay(
          spec.retry,
          attempt,
          failed,
          jitterDraw(`${this.host.state.id}:${stepId}[${index}]:${attempt}`),
        ),
      ended: (result) => this.itemEnded(stepId, step.startedAt ?? 0, result),
    }).finally(() => {
      clearTimeout(lanes.timer)
      if (this.lanes.get(stepId) === lanes) this.lanes.delete(stepId)
    })
    if (lanes.parked && !this.host.isStopped && !signal.aborted && this.host.deps.accepting())
      return this.park(stepId)
    if (this.host.isStopped || signal.aborted || !this.host.deps.accepting()) return
    if (!outcome.ok)
      return this.host.receive({ type: 'failed', stepId, error: outcome.error, retryable: false })
    const size = JSON.stringify(outcome.outputs).length
    if (
      size > this.host.deps.limits.maxOutputBytes &&
      Buffer.byteLength(JSON.stringify(outcome.outputs)) > this.host.deps.limits.maxOutputBytes
    ) {
      const message = `the items' outputs together are over the limit of ${this.host.deps.limits.maxOutputBytes} bytes`
      return this.host.receive({
        type: 'failed',
        stepId,
        error: { code: 'OUTPUT_TOO_LARGE', message },
        retryable: false,
      })
    }
    this.host.receive({ type: 'delivered', stepId, handle: 'out', value: outcome.outputs })
  }

  /** One attempt of one item of a `forEach` step. */
  private async runItem(
    spec: CompiledStep,
    step: StepState,
    input: unknown,
    inputs: Record<string, unknown>,
    item: { value: unknown; index: number; attempt: number },
    signal: AbortSignal,
  ): Promise<ItemAttempt> {
    let props: unknown
    try {
      props = await renderTemplate(spec.props, this.host.scope(input, inputs, item))
    } catch (error) {
      const where = `step '${spec.id}' item ${item.index}`
      return { ok: false, error: expressionFailure(where, error), retryable: false }
    }
    const lanes = this.lanes.get(spec.id)
    if (lanes) lanes.active++
    try {
      return await this.runItemAction(spec, step, input, inputs, props, item, signal)
    } finally {
      if (lanes) lanes.active--
    }
  }

  private async runItemAction(
    spec: CompiledStep,
    step: StepState,
    input: unknown,
    inputs: Record<string, unknown>,
    props: unknown,
    item: { value: unknown; index: number; attempt: number },
    signal: AbortSignal,
  ): Promise<ItemAttempt> {
    const reply = await this.host.deps.steps.run(
      this.host.task(spec, step, props, input, inputs, item),
      signal,
      (level, msg, data) => this.host.log(spec.id, level, `[${item.index}] ${msg}`, data),
    )
    if (!reply.ok) return { ok: false, ...failure(reply.error) }
    if (reply.kind === 'fired') return { ok: true, value: JSON.parse(reply.json) }
    if (reply.kind === 'wait') {
      // a delay per item: held here, the step is running meanwhile
      await pause((reply.until ?? 0) - this.host.deps.now(), signal)
      return { ok: true, value: JSON.parse(reply.json) }
    }
    const started = await this.host.startChild(spec, step, reply, item.index, item.attempt)
    if ('error' in started) return { ok: false, error: started.error, retryable: false }
    const childRunId = started.runId
    if (!reply.wait) return { ok: true, value: { runId: childRunId }, childRunId }
    const lanes = this.lanes.get(spec.id)
    if (lanes) lanes.waiting++
    this.maybePark(spec.id, lanes)
    const ended = await this.childEnd(childRunId, spec.id, `${spec.id}[${item.index}]`, signal)
    if (lanes) lanes.waiting--
    if (!ended)
      return { ok: false, error: { code: 'CANCELLED', message: 'the item was stopped' }, retryable: false }
    const key = `${spec.id}\u0000${item.index}`
    this.itemTakes.set(key, [...(this.itemTakes.get(key) ?? []), ended.id])
    const child = ended.data as ChildOutcome
    if (child.status === 'succeeded') return { ok: true, value: child.output ?? null, childRunId }
    const why = child.error ? `${child.error.code}: ${child.error.message}` : child.status
    return {
      childRunId,
      ok: false,
      error: {
        code: 'CHILD_FAILED',
        message: `the child run ${started.runId} ${child.status} (${why})`,
        details: { runId: started.runId, error: child.error ?? null },
      },
      retryable: true,
    }
  }

  /** The lanes of each `forEach` step running here: how many items run, and how many wait for a child. */
  private readonly lanes = new Map<string, Lanes>()

  /**
   * When every item of a `forEach` step has waited for its child run for a while (children that
   * wait for people, say), the step parks: its lanes stop and it waits for the end of any of its
   * children, so that the run can leave memory. What the items had taken of their children's ends
   * is not durable yet: it is given back, and read again from the database when the step goes on.
   */
  private maybePark(stepId: string, lanes: Lanes | undefined): void {
    const after = this.host.deps.parkAfterMs?.()
    if (!lanes || after === undefined) return
    clearTimeout(lanes.timer)
    lanes.timer = setTimeout(() => {
      if (this.lanes.get(stepId) !== lanes || lanes.active === 0 || lanes.waiting < lanes.active) return
      lanes.parked = true
      lanes.stop.abort()
    }, after)
    lanes.timer.unref?.()
  }

  private park(stepId: string): Promise<void> {
    for (const [key, ids] of this.itemTakes) {
      if (!key.startsWith(`${stepId}\u0000`)) continue
      for (const id of ids) {
        this.host.state.taken?.delete(id)
      }
      this.itemTakes.delete(key)
    }
    // the step no longer runs anything: the run may leave memory once this is durable
    this.host.released(stepId)
    return this.host.receive({ type: 'waiting', stepId, value: null, wait: { signal: childSignal(stepId) } })
  }

  /** Child ends taken by `forEach` items, by item: checkpointed with the item's row. */
  private readonly itemTakes = new Map<string, number[]>()

  /** Resolves with the end of a child run an item waits for (buffered already, or when it comes). */
  private childEnd(
    runId: string,
    stepId: string,
    takenBy: string,
    signal: AbortSignal,
  ): Promise<BufferedSignal | undefined> {
    const name = childSignal(stepId)
    const buffered = this.host.state.signals.find(
      (s) => s.name === name && (s.data as ChildOutcome | null)?.runId === runId,
    )
    if (buffered) {
      this.host.state.signals = this.host.state.signals.filter((s) => s !== buffered)
      this.taken(buffered.id, takenBy)
      return Promise.resolve(buffered)
    }
    return new Promise((resolve) => {
      const onAbort = () => {
        this.childWaiters.delete(runId)
        resolve(undefined)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.childWaiters.set(runId, (s) => {
        signal.removeEventListener('abort', onAbort)
        this.taken(s.id, takenBy)
        resolve(s)
      })
    })
  }

  /** An item ended: its row (and the child's end it took) go into the next checkpoint. */
  private itemEnded(stepId: string, stepStartedAt: number, result: ItemResult): void {
    const key = `${stepId}\u0000${result.index}`
    const takeIds = this.itemTakes.get(key) ?? []
    this.itemTakes.delete(key)
    const now = this.host.deps.now()
    void this.host.deps.writer
      .write({
        items: [
          {
            run_id: this.host.state.id,
            step_id: stepId,
            idx: result.index,
            status: result.ok ? 'succeeded' : 'failed',
            attempts: result.attempts,
            output: result.ok ? JSON.stringify(result.output ?? null) : null,
            error: result.ok ? null : JSON.stringify(result.error),
            child_run_id: result.childRunId ?? null,
            // the start of the step the item belongs to: a retried run's step starts anew
            started_at: stepStartedAt,
            finished_at: now,
          },
        ],
        takes:
          takeIds.length === 0
            ? undefined
            : takeIds.map((id) => this.host.takeRow(id, `${stepId}[${result.index}]`)),
        fence: { runId: this.host.state.id, epoch: this.host.epoch },
      })
      // a refused item row means the run was lost: the step's own checkpoint stops the supervisor
      .catch(() => {})
  }
}

/** A `forEach` step's items in flight here (see ForEachSteps.maybePark). */
interface Lanes {
  active: number
  waiting: number
  parked: boolean
  stop: AbortController
  timer?: NodeJS.Timeout
}

/** A failed reply as the fields of a `failed` event. */
export function failure(error: Extract<StepReply, { ok: false }>['error']) {
  const { code, message, details } = error
  return {
    error: details === undefined ? { code, message } : { code, message, details },
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
  }
}
