// Drives the planner by hand: a run's state, events sent at chosen times, and views of what followed.
import type { CompiledWorkflow } from '../../src/definition/compile.js'
import { newStepState, type RunState, type StepStatus } from '../../src/runtime/state.js'
import { type Effect, type RunEvent, type Transition, transition } from '../../src/runtime/transition.js'

export function freshState(wf: CompiledWorkflow): RunState {
  return {
    id: 'run-1',
    status: 'queued',
    steps: new Map(wf.steps.map((s) => [s.id, newStepState(s.id)])),
    signals: [],
    depth: 0,
  }
}

export const ev = {
  start: (): RunEvent => ({ type: 'start' }),
  delivered: (stepId: string, value: unknown, handle = 'out'): RunEvent => ({
    type: 'delivered',
    stepId,
    handle,
    value,
  }),
  waiting: (stepId: string, until: number, value: unknown): RunEvent => ({
    type: 'waiting',
    stepId,
    until,
    value,
  }),
  failed: (stepId: string, code = 'BOOM', retryable = false, retryAfterMs?: number): RunEvent => ({
    type: 'failed',
    stepId,
    error: { code, message: `${stepId} failed`, details: { why: 'test' } },
    retryable,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  }),
  due: (stepId: string): RunEvent => ({ type: 'due', stepId }),
  cancel: (): RunEvent => ({ type: 'cancel', reason: 'test' }),
  /** Taken back from checkpoints; with a limit, as after the run's process died. */
  resume: (maxInterruptions?: number): RunEvent =>
    maxInterruptions === undefined ? { type: 'resume' } : { type: 'resume', maxInterruptions },
}

export class TestRun {
  constructor(
    readonly wf: CompiledWorkflow,
    readonly state: RunState = freshState(wf),
  ) {}

  send(event: RunEvent, now = 0): Transition {
    return transition(this.wf, this.state, event, now)
  }

  /** Sends events in order, all at one time; returns the effects of the last. */
  sendAll(events: RunEvent[], now = 0): Effect[] {
    let last: Effect[] = []
    for (const event of events) last = this.send(event, now).effects
    return last
  }

  step(id: string) {
    const step = this.state.steps.get(id)
    if (!step) throw new Error(`no step ${id}`)
    return step
  }

  statuses(): Record<string, StepStatus> {
    return Object.fromEntries([...this.state.steps.values()].map((s) => [s.id, s.status]))
  }
}

export const dispatch = (stepId: string): Effect => ({ type: 'dispatch', stepId })
export const abort = (stepId: string): Effect => ({ type: 'abort', stepId })
export const timer = (stepId: string, at: number): Effect => ({ type: 'timer', stepId, at })
export const ended: Effect = { type: 'ended' }

/** The ids a transition dispatched, in order. */
export const dispatched = (t: Transition | Effect[]) =>
  (Array.isArray(t) ? t : t.effects).flatMap((e) => (e.type === 'dispatch' ? [e.stepId] : []))
