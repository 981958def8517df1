// Rebuilds a run's state from its checkpoints: step rows as stored, mailboxes replayed from the
// results of finished steps (results are stored; messages follow from them deterministically).
import type { CompiledWorkflow } from '../definition/compile.js'
import type { StepRow } from '../store/checkpoints.js'
import { readStepRow } from '../store/step-rows.js'
import { type BufferedSignal, newStepState, type RunState, type RunStatus } from './state.js'
import { NOT_RUN, post } from './transition.js'

/** What a run's own row says besides its steps (v2: its parent, its depth, signals not yet taken). */
export interface RunFacts {
  id: string
  status: RunStatus
  depth?: number
  parent?: RunState['parent']
  signals?: BufferedSignal[]
}

export function restoreRunState(wf: CompiledWorkflow, run: RunFacts, rows: StepRow[]): RunState {
  const state: RunState = {
    id: run.id,
    status: run.status,
    steps: new Map(wf.steps.map((s) => [s.id, newStepState(s.id)])),
    signals: run.signals ?? [],
    depth: run.depth ?? 0,
    parent: run.parent,
  }
  for (const row of rows) {
    const step = state.steps.get(row.step_id)
    if (!step) continue
    readStepRow(step, row)
  }
  for (const spec of wf.steps) {
    const step = state.steps.get(spec.id)!
    if (step.handle !== undefined) post(wf, state, spec.id, step.handle, step.output)
    else if (step.status === 'skipped' && step.error?.code !== NOT_RUN)
      post(wf, state, spec.id, undefined, undefined)
  }
  return state
}

/** For a retry: steps that failed the run or were cancelled with it go back to pending. */
export function resetForRetry(state: RunState): string[] {
  const reset: string[] = []
  for (const step of state.steps.values()) {
    const failedRun = step.status === 'failed' && step.handle === undefined
    const notRun = step.status === 'skipped' && step.error?.code === NOT_RUN
    if (!failedRun && !notRun && step.status !== 'cancelled') continue
    step.status = 'pending'
    step.attempts = 0
    step.interruptions = 0
    step.error = undefined
    step.output = undefined
    step.wakeAt = undefined
    step.wait = undefined
    step.childRunId = undefined
    step.itemsTotal = undefined
    step.startedAt = undefined
    step.finishedAt = undefined
    reset.push(step.id)
  }
  state.status = 'running'
  state.error = undefined
  return reset
}
