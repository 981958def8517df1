// Reading runs back in the shape the API and the CLI show them.
import type { Knex } from '@mikro-orm/knex'
import { NotFoundError } from '../errors.js'
import type { RunStatus, StepStatus } from '../runtime/state.js'

export interface StepView {
  id: string
  status: StepStatus
  attempts: number
  output: unknown
  error: unknown
  startedAt: string | null
  finishedAt: string | null
}

export interface RunView {
  id: string
  workflowId: string
  workflowVersion: number
  status: RunStatus
  input: unknown
  output: unknown
  error: unknown
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  steps: StepView[]
}

const iso = (ms: unknown): string | null =>
  ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString()
const json = (text: unknown): unknown => (typeof text === 'string' ? JSON.parse(text) : null)

export async function readRun(
  knex: Knex,
  id: string,
  stepOrder: (workflowId: string, version: number) => Promise<string[]>,
) {
  const run = await knex('runs').where({ id }).first()
  if (!run) throw new NotFoundError(`run '${id}' does not exist`)
  const rows: Record<string, unknown>[] = await knex('step_states').where({ run_id: id })
  const byId = new Map(rows.map((r) => [r.step_id as string, r]))
  const order = await stepOrder(run.workflow_id, Number(run.workflow_version))
  const steps: StepView[] = order.map((stepId) => {
    const r = byId.get(stepId)
    if (!r)
      return {
        id: stepId,
        status: 'pending',
        attempts: 0,
        output: null,
        error: null,
        startedAt: null,
        finishedAt: null,
      }
    return {
      id: stepId,
      status: r.status as StepStatus,
      attempts: Number(r.attempts),
      output: json(r.output),
      error: json(r.error),
      startedAt: iso(r.started_at),
      finishedAt: iso(r.finished_at),
    }
  })
  const view: RunView = {
    id: run.id,
    workflowId: run.workflow_id,
    workflowVersion: Number(run.workflow_version),
    status: run.status,
    input: json(run.input),
    output: json(run.output),
    error: json(run.error),
    createdAt: iso(run.created_at)!,
    startedAt: iso(run.started_at),
    finishedAt: iso(run.finished_at),
    steps,
  }
  return view
}
