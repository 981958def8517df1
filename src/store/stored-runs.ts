// What a run's checkpoints hold, read back to rebuild its supervisor: its own row (workflow,
// version, input, parent, lease epoch), its step rows and the signals it has not taken yet.
import type { Knex } from '@mikro-orm/knex'
import type { BufferedSignal } from '../model/signal.js'
import type { RunStatus } from '../model/status.js'
import type { StepRow } from './checkpoints.js'
import type { HotReads } from './orm.js'
import { untakenSignals, untakenSignalsOf } from './signals.js'

export interface StoredRun {
  id: string
  workflowId: string
  workflowVersion: number
  status: RunStatus
  depth: number
  parent?: { runId: string; stepId: string; waits: boolean }
  input: unknown
  /** The lease epoch the run was last taken with. */
  epoch: number
  steps: StepRow[]
  signals: BufferedSignal[]
}

/** A run whose row cannot be read back (its input is not JSON): the others of a batch still are. */
export interface UnreadableRun {
  id: string
  unreadable: unknown
}

/**
 * The stored runs of `ids` (those that exist), read through prepared statements whatever their
 * number (a signal's wake, runs woken together, a poll's claim).
 */
export async function readStoredRuns(reads: HotReads, ids: string[]): Promise<(StoredRun | UnreadableRun)[]> {
  if (ids.length === 0) return []
  const one = ids.length === 1 ? ids[0]! : undefined
  const runIds = reads.anyOf('id', ids)
  const stepRunIds = reads.anyOf('run_id', ids)
  const [runs, rows, signals] = one
    ? await Promise.all([
        reads.all<Record<string, unknown>>('select * from runs where id = ?', [one]),
        reads.all<StepRow>('select * from step_states where run_id = ?', [one]),
        untakenSignalsOf(reads, one).then((list) => new Map([[one, list]])),
      ])
    : await Promise.all([
        reads.all<Record<string, unknown>>(`select * from runs where ${runIds.sql}`, [runIds.value]),
        reads.all<StepRow>(`select * from step_states where ${stepRunIds.sql}`, [stepRunIds.value]),
        untakenSignals(reads, ids),
      ])
  const byRun = new Map<string, StepRow[]>()
  for (const row of rows) {
    const list = byRun.get(row.run_id)
    if (list) list.push(row)
    else byRun.set(row.run_id, [row])
  }
  return runs.map((run) => {
    const id = run.id as string
    try {
      return storedRun(run, byRun.get(id) ?? [], signals.get(id) ?? [])
    } catch (unreadable) {
      return { id, unreadable }
    }
  })
}

function storedRun(run: Record<string, unknown>, steps: StepRow[], signals: BufferedSignal[]): StoredRun {
  const parentRunId = run.parent_run_id as string | null
  return {
    id: run.id as string,
    workflowId: run.workflow_id as string,
    workflowVersion: Number(run.workflow_version),
    status: run.status as RunStatus,
    depth: Number(run.depth ?? 0),
    parent: parentRunId
      ? { runId: parentRunId, stepId: run.parent_step_id as string, waits: Number(run.parent_waits) === 1 }
      : undefined,
    input: run.input === null || run.input === undefined ? null : JSON.parse(run.input as string),
    epoch: Number(run.lease_epoch ?? 1),
    steps,
    signals,
  }
}

/** Whether a run with this id is stored. */
export async function runExists(reads: HotReads, id: string): Promise<boolean> {
  return (await reads.first('select id from runs where id = ?', [id])) !== undefined
}

/** Forgets the ended items of `forEach` steps that run again from the start (a retry). */
export async function forgetItems(knex: Knex, runId: string, stepIds: string[]): Promise<void> {
  if (stepIds.length > 0) await knex('step_items').where('run_id', runId).whereIn('step_id', stepIds).delete()
}
