// `onFailure`: the run of another workflow that a failed run starts, with what went wrong as its
// input. Its row goes into the same checkpoint as the failure, so it exists exactly when the failure
// does: a crash before that checkpoint stores neither, and the run fails (and starts it) again.
import type { NewRunRow } from '../store/checkpoints.js'
import type { RunState } from './state.js'

/** The input of a failure handler's run. */
export interface FailureInput {
  runId: string
  workflowId: string
  workflowVersion: number
  error: { code: string; message: string; details?: unknown }
  /** The step that failed the run; null when the run failed as a whole (its output expression). */
  stepId: string | null
}

export function failureInput(state: RunState, workflowId: string, workflowVersion: number): FailureInput {
  const { stepId, ...error } = state.error ?? { code: 'FAILED', message: 'the run failed' }
  return { runId: state.id, workflowId, workflowVersion, error, stepId: stepId ?? null }
}

/**
 * The row of the handler's run: `queued` and held by nobody, so that the next poll of any process
 * takes it and starts it. Deeper by one than the failed run, so that handlers that fail and name
 * handlers of their own stop at `runs.maxDepth`.
 */
export function failureRunRow(
  id: string,
  handler: { workflowId: string; version: number },
  input: FailureInput,
  depth: number,
  now: number,
): NewRunRow {
  return {
    id,
    workflow_id: handler.workflowId,
    workflow_version: handler.version,
    status: 'queued',
    input: JSON.stringify(input),
    created_at: now,
    owner: null,
    lease_until: null,
    depth,
  }
}
