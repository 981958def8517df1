// What follows from each event of a run: the rules of the engine as one function of
// (workflow, state, event) → effects. The supervisor applies the effects; nothing here does I/O.
// The state is updated in place (it can hold thousands of steps); every change is listed in `changed`.
import type { CompiledWorkflow } from '../definition/compile.js'
import { joinDecision } from './join.js'
import { retryDelay } from './retry.js'
import { RUN_ENDED, type RunState, STEP_ENDED, type StepError, type StepState } from './state.js'

export type RunEvent =
  | { type: 'start' }
  | { type: 'delivered'; stepId: string; handle: string; value: unknown }
  | { type: 'waiting'; stepId: string; until: number; value: unknown }
  | { type: 'failed'; stepId: string; error: StepError; retryable: boolean; retryAfterMs?: number }
  | { type: 'due'; stepId: string }
  | { type: 'cancel'; reason: string }
  /** Rebuilt from checkpoints: running steps run again, timers are armed, ready steps start. */
  | { type: 'resume' }

export type Effect =
  | { type: 'dispatch'; stepId: string }
  | { type: 'timer'; stepId: string; at: number }
  | { type: 'abort'; stepId: string }
  | { type: 'ended' }

export interface Transition {
  effects: Effect[]
  /** Steps whose state changed, to checkpoint before any effect happens. */
  changed: Set<string>
}

export function transition(wf: CompiledWorkflow, state: RunState, event: RunEvent, now: number): Transition {
  const t: Transition = { effects: [], changed: new Set() }
  if (RUN_ENDED.has(state.status)) return t
  // a step's own news counts only while it runs: a cancelled step's late answer is dropped
  if (
    (event.type === 'delivered' || event.type === 'waiting' || event.type === 'failed') &&
    state.steps.get(event.stepId)?.status !== 'running'
  )
    return t
  switch (event.type) {
    case 'start':
      state.status = 'running'
      for (const step of wf.steps) if (step.needs.length === 0) begin(state, step.id, now, t)
      break
    case 'delivered':
      finish(wf, state, event.stepId, 'succeeded', event.handle, event.value, now, t)
      break
    case 'waiting': {
      const step = at(state, event.stepId)
      step.status = 'waiting'
      step.wakeAt = event.until
      step.output = event.value
      step.error = undefined
      t.changed.add(step.id)
      t.effects.push({ type: 'timer', stepId: step.id, at: event.until })
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
      resume(wf, state, now, t)
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
  step.status = 'running'
  step.attempts += 1
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
  step.status = status
  if (status === 'succeeded') step.error = undefined
  step.handle = handle
  step.output = value
  step.wakeAt = undefined
  step.finishedAt = now
  t.changed.add(stepId)
  route(wf, state, stepId, handle, value, now, t)
}

function resume(wf: CompiledWorkflow, state: RunState, now: number, t: Transition): void {
  state.status = 'running'
  for (const spec of wf.steps) {
    const step = at(state, spec.id)
    if (step.status === 'running') t.effects.push({ type: 'dispatch', stepId: step.id })
    else if (step.status === 'waiting')
      t.effects.push({ type: 'timer', stepId: step.id, at: step.wakeAt ?? now })
    else if (step.status === 'pending') {
      const decision = spec.needs.length === 0 ? 'run' : joinDecision(spec.needs, step.mailbox, spec.join)
      if (decision === 'run') begin(state, step.id, now, t)
      else if (decision === 'skip') skip(wf, state, step.id, now, t)
    }
  }
}

/** Puts the messages a finished step sends into its dependents' mailboxes, deciding nothing. */
export function post(
  wf: CompiledWorkflow,
  state: RunState,
  from: string,
  fired: string | undefined,
  value: unknown,
) {
  for (const dependentId of wf.dependents.get(from) ?? []) {
    const step = at(state, dependentId)
    for (const edge of wf.byId.get(dependentId)!.needs) {
      if (edge.from !== from) continue
      const delivered = fired !== undefined && edge.handle === fired
      step.mailbox.push({ from, handle: edge.handle, delivered, value: delivered ? value : undefined })
    }
  }
}

function skip(wf: CompiledWorkflow, state: RunState, stepId: string, now: number, t: Transition): void {
  const step = at(state, stepId)
  step.status = 'skipped'
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
    for (const dependentId of wf.dependents.get(from) ?? []) {
      const dependent = wf.byId.get(dependentId)!
      const step = at(state, dependentId)
      for (const edge of dependent.needs) {
        if (edge.from !== from) continue
        const message = handle !== undefined && edge.handle === handle
        step.mailbox.push({
          from,
          handle: edge.handle,
          delivered: message,
          value: message ? delivered : undefined,
        })
      }
      if (step.status !== 'pending') continue
      const decision = joinDecision(dependent.needs, step.mailbox, dependent.join)
      if (decision === 'run') begin(state, dependentId, now, t)
      else if (decision === 'skip') {
        step.status = 'skipped'
        step.finishedAt = now
        t.changed.add(dependentId)
        work.push([dependentId, undefined, undefined])
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
  const delay = retryDelay(spec.retry, step.attempts, event)
  step.error = event.error
  if (delay !== undefined) {
    step.status = 'waiting'
    step.wakeAt = now + delay
    t.changed.add(step.id)
    t.effects.push({ type: 'timer', stepId: step.id, at: step.wakeAt })
    return
  }
  const error = { code: event.error.code, message: event.error.message }
  if (spec.onError === 'continue') finish(wf, state, step.id, 'failed', 'out', { error }, now, t)
  else if (spec.onError === 'branch') finish(wf, state, step.id, 'failed', 'error', error, now, t)
  else {
    step.status = 'failed'
    step.finishedAt = now
    t.changed.add(step.id)
    endRun(state, 'failed', { ...event.error, stepId: step.id }, now, t)
  }
}

function due(wf: CompiledWorkflow, state: RunState, stepId: string, now: number, t: Transition): void {
  const step = at(state, stepId)
  if (step.status !== 'waiting') return
  // a waiting step with an error is in a retry backoff; without one it is a delay that has ended
  if (step.error) begin(state, stepId, now, t)
  else finish(wf, state, stepId, 'succeeded', 'out', step.output, now, t)
}

/** Ends the run: steps in flight are cancelled (and their work aborted); steps not started stay pending. */
function endRun(
  state: RunState,
  status: 'failed' | 'cancelled',
  error: RunState['error'],
  now: number,
  t: Transition,
): void {
  state.status = status
  state.error = error ?? { code: 'CANCELLED', message: 'the run was cancelled' }
  for (const step of state.steps.values()) {
    if (step.status !== 'running' && step.status !== 'waiting') continue
    step.status = 'cancelled'
    step.error = {
      code: 'CANCELLED',
      message: `cancelled: ${status === 'failed' ? 'the run failed' : 'the run was cancelled'}`,
    }
    step.wakeAt = undefined
    step.finishedAt = now
    t.changed.add(step.id)
    t.effects.push({ type: 'abort', stepId: step.id })
  }
  t.effects.push({ type: 'ended' })
}

/** A run whose steps have all ended has succeeded; one with only timers left is waiting. */
function settle(state: RunState, t: Transition): void {
  if (RUN_ENDED.has(state.status)) return
  let running = 0
  let waiting = 0
  for (const step of state.steps.values()) {
    if (step.status === 'running') running++
    else if (step.status === 'waiting') waiting++
  }
  if (running === 0 && waiting === 0) {
    state.status = 'succeeded'
    t.effects.push({ type: 'ended' })
  } else {
    state.status = running === 0 ? 'waiting' : 'running'
  }
}
