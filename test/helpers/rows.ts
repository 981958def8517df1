// Rows as the checkpoint writer takes them, for the store's tests: every column given, any of them
// overridden.
import type { NewRunRow, StepRow } from '../../src/store/checkpoints.js'

/** A new run's row: `running`, workflow `w` version 1, leased for a minute from `created_at`. */
export function runRow(id: string, fields: Partial<NewRunRow> = {}): NewRunRow {
  const at = fields.created_at ?? Date.now()
  return {
    id,
    workflow_id: 'w',
    workflow_version: 1,
    status: 'running',
    input: '{}',
    created_at: at,
    owner: 'me',
    lease_until: at + 60_000,
    ...fields,
  }
}

/** A step's row in its first attempt, started at `started_at` (now by default). */
export function stepRow(
  runId: string,
  stepId: string,
  status: string,
  fields: Partial<StepRow> = {},
): StepRow {
  return {
    run_id: runId,
    step_id: stepId,
    status,
    attempts: 1,
    interruptions: 0,
    handle: null,
    output: null,
    error: null,
    wake_at: null,
    started_at: Date.now(),
    finished_at: null,
    ...fields,
  }
}
