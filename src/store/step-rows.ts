// A step's state as a `step_states` row and back: the one place where the columns of a step row
// (src/store/checkpoints.ts, STEP_TABLE) meet the fields of the state the runtime keeps.
import type { StepState } from '../model/run-state.js'
import type { StepStatus } from '../model/status.js'
import type { StepRow } from './checkpoints.js'

const num = (value: unknown) => (value === null || value === undefined ? undefined : Number(value))

export function stepRow(runId: string, step: StepState): StepRow {
  return {
    run_id: runId,
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
    wait_signal: step.wait?.signal ?? null,
    wait_key: step.wait?.key ?? null,
    wait_until: step.wait?.until ?? null,
    child_run_id: step.childRunId ?? null,
    items_total: step.itemsTotal ?? null,
  }
}

/** Sets a step's stored fields from its row (as either driver returns it: bigints may be text). */
export function readStepRow(step: StepState, row: StepRow): void {
  step.status = row.status as StepStatus
  step.attempts = Number(row.attempts)
  step.interruptions = Number(row.interruptions ?? 0)
  step.handle = row.handle ?? undefined
  step.output = row.output === null ? undefined : JSON.parse(row.output)
  step.error = row.error === null ? undefined : JSON.parse(row.error)
  step.wakeAt = num(row.wake_at)
  step.startedAt = num(row.started_at)
  step.finishedAt = num(row.finished_at)
  step.wait = undefined
  if (row.wait_signal) {
    step.wait = { signal: row.wait_signal, until: num(row.wait_until) }
    if (row.wait_key !== null && row.wait_key !== undefined) step.wait.key = row.wait_key
  }
  step.childRunId = row.child_run_id ?? undefined
  step.itemsTotal = num(row.items_total)
}
