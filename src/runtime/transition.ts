// What follows from each event of a run: the rules of the engine as one function of
// (workflow, state, event) → effects. The supervisor applies the effects; nothing here does I/O.
// The state is updated in place (it can hold thousands of steps); every change is listed in `changed`.
import type { CompiledStep, CompiledWorkflow, OutEdges } from '../definition/compile.js'
import { type JoinDecision, joinDecision } from './join.js'
import { jitterDraw, retryDelay } from './retry.js'
import {
  type BufferedSignal,
  type ChildOutcome,
  childSignal,
  RUN_ENDED,
  type RunState,
  type SignalWait,
  STEP_ENDED,
  type StepError,
  type StepState,
  type StepStatus,
} from './state.js'

export type RunEvent =
  | { type: 'start' }
  | { type: 'delivered'; stepId: string; handle: string; value: unknown; childRunId?: string }
  /** A `forEach` step's items are known: how many. */
  | { type: 'items'; stepId: string; total: number }
  /** The step waits: until a time (a delay), for a signal (with an optional timeout), or both. */
  | {
      type: 'waiting'
      stepId: string
      until?: number
      value: unknown
      wait?: SignalWait
      childRunId?: string
    }
  /** A signal stored for the run: the first step waiting for its name takes it, else it is buffered. */
  | { type: 'signal'; signal: BufferedSignal }
  /**
   * The end of the child run a step waits for, handed over in memory by the child as it ends (its
   * signal is stored taken, in the commit of the child's end): the step takes it as it would take
   * that signal. Nothing happens unless the step still waits for that child.
   */
  | { type: 'childEnded'; stepId: string; outcome: ChildOutcome }
  | { type: 'failed'; stepId: string; error: StepError; retryable: boolean; retryAfterMs?: number }
  | { type: 'due'; stepId: string }
  | { type: 'cancel'; reason: string }
  /**
   * Rebuilt from checkpoints: running steps run again, timers are armed, ready steps start. With
   * `maxInterruptions` (a run taken over from a process that died), each running step's attempt
   * counts as interrupted, and one interrupted that many times fails with `CRASHED` instead.
   */
  | { type: 'resume'; maxInterruptions?: number }

/** The error of a step skipped because its run ended before the step could start. */
export const NOT_RUN = 'NOT_RUN'

export type Effect =
  | { type: 'dispatch'; stepId: string }
  | { type: 'timer'; stepId: string; at: number }
  | { type: 'abort'; stepId: string }
  | { type: 'ended' }

export interface Transition {
  effects: Effect[]
  /** Steps whose state changed, to checkpoint before any effect happens. */
  changed: Set<string>
  /** Signals taken by steps, to mark taken in the same checkpoint. */
  taken: { signalId: number; stepId: string }[]
}

export function transition(wf: CompiledWorkflow, state: RunState, event: RunEvent, now: number): Transition {
  const t: Transition = { effects: [], changed: new Set(), taken: [] }
  if (RUN_ENDED.has(state.status)) return t
  // a step's own news counts only while it runs: a cancelled step's late answer is dropped
  if (
    (event.type === 'delivered' ||
      event.type === 'waiting' ||
      event.type === 'failed' ||
      event.type === 'items') &&
    state.steps.get(event.stepId)?.status !== 'running'
  )
    return t
  switch (event.type) {
    case 'start':
      state.status = 'running'
      for (const step of wf.steps) if (step.needs.length === 0) begin(state, step.id, now, t)
      break
    case 'delivered':
      if (event.childRunId !== undefined) at(state, event.stepId).childRunId = event.childRunId
      finish(wf, state, event.stepId, 'succeeded', event.handle, event.value, now, t)
      break
    case 'items':
      at(state, event.stepId).itemsTotal = event.total
      t.changed.add(event.stepId)
      break
    case 'waiting': {
      const step = at(state, event.stepId)
      setStatus(state, step, 'waiting')
      step.wakeAt = event.until
      step.wait = event.wait
      if (event.childRunId !== undefined) step.childRunId = event.childRunId
      step.output = event.value
      step.error = undefined
      t.changed.add(step.id)
      // a signal that came before the step waited for it is taken at once
      const buffered = step.wait && state.signals.find((s) => s.name === step.wait!.signal)
      if (buffered) take(wf, state, step, buffered, now, t)
      else if (event.until !== undefined) t.effects.push({ type: 'timer', stepId: step.id, at: event.until })
      break
    }
    case 'signal': {
      const { signal } = event
      if (state.taken?.has(signal.id) || state.signals.some((s) => s.id === signal.id)) break
      const step = waitingFor(wf, state, signal.name)
      if (step) take(wf, state, step, signal, now, t)
      else state.signals.push(signal)
      break
    }
    case 'childEnded': {
      const step = state.steps.get(event.stepId)
      if (step && waitsForChild(wf, step, event.outcome.runId))
        childEnded(wf, state, step, event.outcome, now, t)
      break
    }
    case 'failed':
      failed(wf, state, event, now, t)
      break
    case 'due':
      due(wf, state, event.stepId, now, t)
      break
    case 'cancel':
      endRun(state, 'cancelled', undefined, now, t)
      break
    case 'resume':
      resume(wf, state, event.maxInterruptions, now, t)
      break
  }
  settle(state, t)
  return t
}

function at(state: RunState, stepId: string): StepState {
  const step = state.steps.get(stepId)
  if (!step) throw new Error(`run ${state.id} has no step '${stepId}'`)
  return step
}

function begin(state: RunState, stepId: string, now: number, t: Transition): void {
  const step = at(state, stepId)
  setStatus(state, step, 'running')
  step.attempts += 1
  step.interruptions = 0
  step.startedAt ??= now
  step.wakeAt = undefined
  t.changed.add(stepId)
  t.effects.push({ type: 'dispatch', stepId })
}

function finish(
  wf: CompiledWorkflow,
  state: RunState,
  stepId: string,
  status: 'succeeded' | 'failed',
  handle: string,
  value: unknown,
  now: number,
  t: Transition,
): void {
  const step = at(state, stepId)
  if (STEP_ENDED.has(step.status)) return
  setStatus(state, step, status)
  if (status === 'succeeded') step.error = undefined
  step.handle = handle
  step.output = value
  step.wakeAt = undefined
  step.wait = undefined
  step.finishedAt = now
  t.changed.add(stepId)
  route(wf, state, stepId, handle, value, now, t)
}

function resume(
  wf: CompiledWorkflow,
  state: RunState,
  maxInterruptions: number | undefined,
  now: number,
  t: Transition,
): void {
  state.status = 'running'
  // read before anything changes: a crashed step's failure routes on and may start other steps
  const running = wf.steps.map((s) => at(state, s.id)).filter((step) => step.status === 'running')
  const again: StepState[] = []
  const crashing: StepState[] = []
  for (const step of running) {
    // a `forEach` step's items are checkpointed one by one: the step itself is not what crashed
    if (wf.byId.get(step.id)!.forEach) {
      again.push(step)
      continue
    }
    if (maxInterruptions !== undefined) {
      step.interruptions += 1
      t.changed.add(step.id)
    }
    if (maxInterruptions === undefined || step.interruptions < maxInterruptions) again.push(step)
    else crashing.push(step)
  }
  for (const step of crashing) {
    crashed(wf, state, step, now, t)
    if (RUN_ENDED.has(state.status)) return
  }
  for (const step of again) t.effects.push({ type: 'dispatch', stepId: step.id })
  for (const spec of wf.steps) {
    const step = at(state, spec.id)
    if (step.status === 'waiting') {
      const buffered = step.wait && state.signals.find((s) => s.name === step.wait!.signal)
      if (buffered) take(wf, state, step, buffered, now, t)
      else if (step.wakeAt !== undefined || !step.wait)
        t.effects.push({ type: 'timer', stepId: step.id, at: step.wakeAt ?? now })
    } else if (step.status === 'pending') {
      const decision = decide(spec, step)
      if (decision === 'run') begin(state, step.id, now, t)
      else if (decision === 'skip') skip(wf, state, step.id, now, t)
    }
  }
}

/**
 * An attempt that was under way each time its process died is likely what killed it: it fails
 * instead of taking the engine down once more. CRASHED is terminal: `retry` does not run it again
 * (another attempt would only crash again), while `onError` applies to it as to any failure.
 */
function crashed(wf: CompiledWorkflow, state: RunState, step: StepState, now: number, t: Transition): void {
  const times = step.interruptions === 1 ? 'once' : `${step.interruptions} times`
  const why = `the step's attempt was interrupted ${times} (the engine stopped while it ran)`
  const message = `${why}; not running it again`
  failed(
    wf,
    state,
    { type: 'failed', stepId: step.id, error: { code: 'CRASHED', message }, retryable: false },
    now,
    t,
  )
}

/** Puts the messages a finished step sends into its dependents' mailboxes, deciding nothing. */
export function post(
  wf: CompiledWorkflow,
  state: RunState,
  from: string,
  fired: string | undefined,
  value: unknown,
) {
  for (const edges of wf.outgoing.get(from) ?? []) deliver(at(state, edges.to), from, edges, fired, value)
}

/** One message per handle the dependent needs of `from`: the one that fired delivers `value`. */
function deliver(
  step: StepState,
  from: string,
  edges: OutEdges,
  fired: string | undefined,
  value: unknown,
): void {
  for (const handle of edges.handles) {
    const delivered = fired !== undefined && handle === fired
    step.mailbox.push({ from, handle, delivered, value: delivered ? value : undefined })
    if (delivered) step.deliveries++
  }
}

/** What the step's mailbox says now; a root step (no needs) is always ready. */
function decide(spec: CompiledStep, step: StepState): JoinDecision {
  if (spec.needs.length === 0) return 'run'
  const count = { needs: spec.needs.length, resolved: step.mailbox.length, delivered: step.deliveries }
  return joinDecision(count, spec.join)
}

function skip(wf: CompiledWorkflow, state: RunState, stepId: string, now: number, t: Transition): void {
  const step = at(state, stepId)
  setStatus(state, step, 'skipped')
  step.finishedAt = now
  t.changed.add(stepId)
  route(wf, state, stepId, undefined, undefined, now, t)
}

/** Delivers a step's result to its dependents; skips travel on through steps that can no longer run. */
function route(
  wf: CompiledWorkflow,
  state: RunState,
  fromId: string,
  fired: string | undefined,
  value: unknown,
  now: number,
  t: Transition,
): void {
  const work: [string, string | undefined, unknown][] = [[fromId, fired, value]]
  while (work.length > 0) {
    const [from, handle, delivered] = work.pop()!
    for (const edges of wf.outgoing.get(from) ?? []) {
      const step = at(state, edges.to)
      deliver(step, from, edges, handle, delivered)
      if (step.status !== 'pending') continue
      const decision = decide(wf.byId.get(edges.to)!, step)
      if (decision === 'run') begin(state, edges.to, now, t)
      else if (decision === 'skip') {
        setStatus(state, step, 'skipped')
        step.finishedAt = now
        t.changed.add(edges.to)
        work.push([edges.to, undefined, undefined])
      }
    }
  }
}

function failed(
  wf: CompiledWorkflow,
  state: RunState,
  event: Extract<RunEvent, { type: 'failed' }>,
  now: number,
  t: Transition,
): void {
  const step = at(state, event.stepId)
  if (STEP_ENDED.has(step.status)) return
  const spec = wf.byId.get(event.stepId)!
  const draw = jitterDraw(`${state.id}:${step.id}:${step.attempts}`)
  const delay = retryDelay(spec.retry, step.attempts, event, draw)
  step.error = event.error
  if (delay !== undefined) {
    setStatus(state, step, 'waiting')
    step.wakeAt = now + delay
    t.changed.add(step.id)
    t.effects.push({ type: 'timer', stepId: step.id, at: step.wakeAt })
    return
  }
  const error = { code: event.error.code, message: event.error.message }
  if (spec.onError === 'continue') finish(wf, state, step.id, 'failed', 'out', { error }, now, t)
  else if (spec.onError === 'branch') finish(wf, state, step.id, 'failed', 'error', error, now, t)
  else {
    setStatus(state, step, 'failed')
    step.finishedAt = now
    t.changed.add(step.id)
    endRun(state, 'failed', { ...event.error, stepId: step.id }, now, t)
  }
}

function due(wf: CompiledWorkflow, state: RunState, stepId: string, now: number, t: Transition): void {
  const step = at(state, stepId)
  if (step.status !== 'waiting') return
  if (step.wait) {
    timedOut(wf, state, step, now, t)
    return
  }
  // a waiting step with an error is in a retry backoff; without one it is a delay that has ended
  if (step.error) begin(state, stepId, now, t)
  else finish(wf, state, stepId, 'succeeded', 'out', step.output, now, t)
}

/** The first step (in definition order) that waits for a signal of this name. */
function waitingFor(wf: CompiledWorkflow, state: RunState, name: string): StepState | undefined {
  for (const spec of wf.steps) {
    const step = at(state, spec.id)
    if (step.status === 'waiting' && step.wait?.signal === name) return step
  }
  return undefined
}

/**
 * A waiting step takes a signal: it fires `out` with the signal's data, or, for the end of a child
 * run it waited for, with the child's output (or fails with CHILD_FAILED).
 */
function take(
  wf: CompiledWorkflow,
  state: RunState,
  step: StepState,
  signal: BufferedSignal,
  now: number,
  t: Transition,
): void {
  if (wf.byId.get(step.id)!.forEach) {
    // a parked `forEach` step goes on: its items take their children's ends, which stay buffered
    setStatus(state, step, 'running')
    step.wait = undefined
    t.changed.add(step.id)
    t.effects.push({ type: 'dispatch', stepId: step.id })
    if (!state.signals.some((s) => s.id === signal.id)) state.signals.push(signal)
    return
  }
  const child = signal.data as ChildOutcome | null
  if (signal.name.startsWith('child:') && child?.runId !== step.childRunId) {
    // the end of a child of an earlier attempt: taken, and nothing more
    state.signals = state.signals.filter((s) => s.id !== signal.id)
    state.taken ??= new Map()
    state.taken.set(signal.id, step.id)
    t.taken.push({ signalId: signal.id, stepId: step.id })
    return
  }
  state.signals = state.signals.filter((s) => s.id !== signal.id)
  state.taken ??= new Map()
  state.taken.set(signal.id, step.id)
  t.taken.push({ signalId: signal.id, stepId: step.id })
  if (signal.name.startsWith('child:') && child) {
    childEnded(wf, state, step, child, now, t)
    return
  }
  stopWaiting(step, t)
  finish(wf, state, step.id, 'succeeded', 'out', signal.data ?? null, now, t)
}

/** A waiting step is answered: its wait and its timer end. */
function stopWaiting(step: StepState, t: Transition): void {
  t.effects.push({ type: 'abort', stepId: step.id })
  step.wait = undefined
  step.wakeAt = undefined
}

/** Whether a step (not a `forEach`) waits for the end of this child run. */
export function waitsForChild(wf: CompiledWorkflow, step: StepState, childRunId: string): boolean {
  return (
    step.status === 'waiting' &&
    step.childRunId === childRunId &&
    step.wait?.signal === childSignal(step.id) &&
    !wf.byId.get(step.id)!.forEach
  )
}

/** A step takes its child run's end: it succeeds with the child's output, or fails (CHILD_FAILED). */
function childEnded(
  wf: CompiledWorkflow,
  state: RunState,
  step: StepState,
  child: ChildOutcome,
  now: number,
  t: Transition,
): void {
  stopWaiting(step, t)
  if (child.status === 'succeeded') {
    finish(wf, state, step.id, 'succeeded', 'out', child.output ?? null, now, t)
    return
  }
  const why = child.error ? `${child.error.code}: ${child.error.message}` : child.status
  // the step's retry policy applies: another attempt starts another child run
  failed(
    wf,
    state,
    {
      type: 'failed',
      stepId: step.id,
      error: {
        code: 'CHILD_FAILED',
        message: `the child run ${step.childRunId} ${child.status} (${why})`,
        details: { runId: step.childRunId, error: child.error ?? null },
      },
      retryable: true,
    },
    now,
    t,
  )
}

/** A wait's time is up: it fires `timeout` when some step needs that, else it fails with TIMEOUT. */
function timedOut(wf: CompiledWorkflow, state: RunState, step: StepState, now: number, t: Transition): void {
  const name = step.wait!.signal
  step.wait = undefined
  const wanted = wf.outgoing.get(step.id)?.some((edges) => edges.handles.includes('timeout'))
  if (wanted) {
    finish(wf, state, step.id, 'succeeded', 'timeout', { timedOut: true }, now, t)
    return
  }
  failed(
    wf,
    state,
    {
      type: 'failed',
      stepId: step.id,
      error: { code: 'TIMEOUT', message: `no signal '${name}' came before the wait's timeout` },
      retryable: false,
    },
    now,
    t,
  )
}

/** Ends the run: steps in flight are cancelled (and their work aborted); steps not started are skipped. */
function endRun(
  state: RunState,
  status: 'failed' | 'cancelled',
  error: RunState['error'],
  now: number,
  t: Transition,
): void {
  state.status = status
  state.error = error ?? { code: 'CANCELLED', message: 'the run was cancelled' }
  const why = status === 'failed' ? 'the run failed' : 'the run was cancelled'
  for (const step of state.steps.values()) {
    // steps that never started are skipped (`NOT_RUN`: a retry of the run may still run them)
    if (step.status === 'pending') {
      setStatus(state, step, 'skipped')
      step.error = { code: NOT_RUN, message: `not run: ${why}` }
      step.finishedAt = now
      t.changed.add(step.id)
      continue
    }
    if (step.status !== 'running' && step.status !== 'waiting') continue
    setStatus(state, step, 'cancelled')
    step.error = {
      code: 'CANCELLED',
      message: `cancelled: ${status === 'failed' ? 'the run failed' : 'the run was cancelled'}`,
    }
    step.wakeAt = undefined
    step.wait = undefined
    step.finishedAt = now
    t.changed.add(step.id)
    t.effects.push({ type: 'abort', stepId: step.id })
  }
  t.effects.push({ type: 'ended' })
}

/** A run whose steps have all ended has succeeded; one with only timers left is waiting. */
function settle(state: RunState, t: Transition): void {
  if (RUN_ENDED.has(state.status)) return
  const { running, waiting } = liveSteps(state)
  if (running === 0 && waiting === 0) {
    state.status = 'succeeded'
    t.effects.push({ type: 'ended' })
  } else {
    state.status = running === 0 ? 'waiting' : 'running'
  }
}

/**
 * How many steps of a run are running and waiting, counted once per state object and then kept
 * as statuses change, so that settling after each event costs O(1), not O(steps). Not part of the
 * state: a state rebuilt (from checkpoints, or from JSON) is counted afresh. Step statuses change
 * here, through `setStatus`, and nowhere else once a state has met `transition`.
 */
const live = new WeakMap<RunState, { running: number; waiting: number }>()

function liveSteps(state: RunState): { running: number; waiting: number } {
  let counts = live.get(state)
  if (!counts) {
    counts = { running: 0, waiting: 0 }
    for (const step of state.steps.values()) {
      if (step.status === 'running') counts.running++
      else if (step.status === 'waiting') counts.waiting++
    }
    live.set(state, counts)
  }
  return counts
}

function setStatus(state: RunState, step: StepState, status: StepStatus): void {
  const counts = live.get(state)
  if (counts && step.status !== status) {
    if (step.status === 'running') counts.running--
    else if (step.status === 'waiting') counts.waiting--
    if (status === 'running') counts.running++
    else if (status === 'waiting') counts.waiting++
  }
  step.status = status
}
