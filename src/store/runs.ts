// Reading runs back in the shape the API and the CLI show them.
import type { Knex } from '@mikro-orm/knex'
import { NotFoundError, ValidationError } from '../errors.js'
import type { RunStatus, StepStatus } from '../model/status.js'
import type { HotReads } from './orm.js'

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

/** A row of `runs` as the drivers return it (bigint columns may come back as text). */
interface RunRow {
  id: string
  workflow_id: string
  workflow_version: number | string
  status: RunStatus
  input: string | null
  output: string | null
  error: string | null
  created_at: number | string
  started_at: number | string | null
  finished_at: number | string | null
}

const iso = (ms: unknown): string | null =>
  ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString()
const json = (text: unknown): unknown => (typeof text === 'string' ? JSON.parse(text) : null)

export async function readRun(
  reads: HotReads,
  id: string,
  stepOrder: (workflowId: string, version: number) => Promise<string[]>,
) {
  const run = await reads.first<RunRow>('select * from runs where id = ?', [id])
  if (!run) throw new NotFoundError(`run '${id}' does not exist`)
  const rows = await reads.all<Record<string, unknown>>('select * from step_states where run_id = ?', [id])
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

export interface RunSummary {
  id: string
  workflowId: string
  workflowVersion: number
  status: RunStatus
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

const encodeCursor = (parts: (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url')

/**
 * What a cursor's parts may be: whole numbers in the range of their column (a `bigint` time, an
 * `integer` id) and text without NUL, so that no cursor makes a statement fail on either database.
 */
const CURSOR_PART = {
  time: (p: unknown) => Number.isSafeInteger(p) && (p as number) >= 0,
  serial: (p: unknown) => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 2_147_483_647,
  text: (p: unknown) => typeof p === 'string' && p.length <= 255 && !p.includes('\0'),
}

/** A cursor this server gave out: a JSON array of the given kinds of item, base64url-encoded. */
function decodeCursor(
  cursor: string | undefined,
  kinds: (keyof typeof CURSOR_PART)[],
): unknown[] | undefined {
  if (!cursor) return undefined
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (
      Array.isArray(parts) &&
      parts.length === kinds.length &&
      parts.every((p, i) => CURSOR_PART[kinds[i]!](p))
    )
      return parts
  } catch {}
  throw new ValidationError('the cursor is not one this server gave out', [
    { path: 'cursor', message: 'invalid cursor' },
  ])
}

/** Newest first; the cursor is the (created_at, id) of the last item given. */
export async function listRuns(
  knex: Knex,
  filter: { workflowId?: string; status?: string; limit: number; cursor?: string },
): Promise<Page<RunSummary>> {
  const query = knex('runs')
    .select('id', 'workflow_id', 'workflow_version', 'status', 'created_at', 'started_at', 'finished_at')
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(filter.limit + 1)
  if (filter.workflowId) query.where('workflow_id', filter.workflowId)
  if (filter.status) query.where('status', filter.status)
  const after = decodeCursor(filter.cursor, ['time', 'text'])
  if (after) {
    const [createdAt, id] = after as [number, string]
    query.where((q) =>
      q
        .where('created_at', '<', createdAt)
        .orWhere((q2) => q2.where('created_at', createdAt).andWhere('id', '<', id)),
    )
  }
  const rows: Record<string, unknown>[] = await query
  const items = rows.slice(0, filter.limit).map((r) => ({
    id: r.id as string,
    workflowId: r.workflow_id as string,
    workflowVersion: Number(r.workflow_version),
    status: r.status as RunStatus,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  }))
  const last = rows.length > filter.limit ? rows[filter.limit - 1] : undefined
  return { items, nextCursor: last ? encodeCursor([Number(last.created_at), last.id as string]) : null }
}

export interface LogLine {
  ts: string
  level: string
  stepId: string | null
  msg: string
  data: unknown
}

/** Oldest first; the cursor is the id of the last line given. */
export async function readLogs(
  knex: Knex,
  runId: string,
  limit: number,
  cursor?: string,
): Promise<Page<LogLine>> {
  const after = decodeCursor(cursor, ['serial'])
  const query = knex('run_logs')
    .where('run_id', runId)
    .orderBy('id', 'asc')
    .limit(limit + 1)
  if (after) query.where('id', '>', Number(after[0]))
  const rows: Record<string, unknown>[] = await query
  const items = rows.slice(0, limit).map((r) => ({
    ts: iso(r.ts)!,
    level: r.level as string,
    stepId: (r.step_id as string | null) ?? null,
    msg: r.msg as string,
    data: json(r.data),
  }))
  const last = rows.length > limit ? rows[limit - 1] : undefined
  return { items, nextCursor: last ? encodeCursor([Number(last.id)]) : null }
}
