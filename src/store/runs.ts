// Reading runs back in the shape the API and the CLI show them.
import type { Knex } from '@mikro-orm/knex'
import { NotFoundError, ValidationError } from '../errors.js'
import type { RunStatus, StepStatus } from '../model/status.js'
import type { HotReads } from './orm.js'

export interface StepView {
  id: string
  status: StepStatus
  attempts: number
  /** What the step was given as `input`, once it has started (rebuilt from its needs' rows). */
  input?: unknown
  /** The handle the step fired when it ended (`out`, `true`, a case, `error`...). */
  handle?: string
  output: unknown
  error: unknown
  startedAt: string | null
  finishedAt: string | null
  /** v2: a `forEach` step's items by outcome. */
  items?: { total: number; succeeded: number; failed: number; running: number }
  /** v2: the run a `workflow.run` step started. */
  childRunId?: string
  /** v2: what a waiting `flow.wait` step waits for. */
  waitingFor?: { signal: string; key?: unknown; until?: string }
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
  /** The run and step that started this run (`workflow.run`), if one did. */
  parentRunId: string | null
  parentStepId: string | null
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
  parent_run_id: string | null
  parent_step_id: string | null
}

const iso = (ms: unknown): string | null =>
  ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString()
const json = (text: unknown): unknown => (typeof text === 'string' ? JSON.parse(text) : null)

/** How a run stands, without its steps: what a caller waiting for its end answers with. */
export async function readOutcome(
  reads: HotReads,
  id: string,
): Promise<Pick<RunView, 'status' | 'output' | 'error'>> {
  const run = await reads.first<Pick<RunRow, 'status' | 'output' | 'error'>>(
    'select status, output, error from runs where id = ?',
    [id],
  )
  if (!run) throw new NotFoundError(`run '${id}' does not exist`)
  return { status: run.status, output: json(run.output), error: json(run.error) }
}

export async function readRun(
  reads: HotReads,
  id: string,
  stepOrder: (workflowId: string, version: number) => Promise<string[]>,
) {
  const { run, rows, tallies } = await readRows(reads, id)
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
    const view: StepView = {
      id: stepId,
      status: r.status as StepStatus,
      attempts: Number(r.attempts),
      output: json(r.output),
      error: json(r.error),
      startedAt: iso(r.started_at),
      finishedAt: iso(r.finished_at),
    }
    if (r.items_total !== null && r.items_total !== undefined) {
      const total = Number(r.items_total)
      const tally = tallies?.get(stepId) ?? { succeeded: 0, failed: 0 }
      const running = r.status === 'running' ? Math.max(0, total - tally.succeeded - tally.failed) : 0
      view.items = { total, ...tally, running }
    }
    if (typeof r.handle === 'string') view.handle = r.handle
    if (r.child_run_id) view.childRunId = r.child_run_id as string
    const signal = r.wait_signal as string | null
    if (r.status === 'waiting' && signal && !signal.startsWith('child:')) {
      view.waitingFor = { signal }
      if (r.wait_key !== null && r.wait_key !== undefined) view.waitingFor.key = json(r.wait_key)
      if (r.wait_until !== null && r.wait_until !== undefined) view.waitingFor.until = iso(r.wait_until)!
    }
    return view
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
    parentRunId: run.parent_run_id ?? null,
    parentStepId: run.parent_step_id ?? null,
    steps,
  }
  return view
}

/** Reads past a status that changed between them are taken again, this many times at most. */
const CONSISTENT_READ_TRIES = 5

/**
 * The rows of a run, its steps and its items' tallies. They come from separate statements (on
 * PostgreSQL, maybe on two connections), and a checkpoint committed between them would pair the
 * run's old status with its steps' new ones (a step `waiting` in a run still `running`): the run's
 * status, read again after the rest, tells, and then they are read again.
 */
async function readRows(reads: HotReads, id: string) {
  for (let tries = 1; ; tries++) {
    const run = await reads.first<RunRow>('select * from runs where id = ?', [id])
    if (!run) throw new NotFoundError(`run '${id}' does not exist`)
    const rows = await reads.all<Record<string, unknown>>('select * from step_states where run_id = ?', [id])
    const tallies = rows.some((r) => r.items_total !== null && r.items_total !== undefined)
      ? await itemTallies(reads, id)
      : undefined
    const after = await reads.first<Pick<RunRow, 'status'>>('select status from runs where id = ?', [id])
    if (after?.status === run.status || tries === CONSISTENT_READ_TRIES) return { run, rows, tallies }
  }
}

/** Ended items of each `forEach` step of a run, by outcome. */
async function itemTallies(reads: HotReads, runId: string) {
  const rows = await reads.all<{ step_id: string; status: string; n: number | string }>(
    'select step_id, status, count(*) as n from step_items where run_id = ? group by step_id, status',
    [runId],
  )
  const tallies = new Map<string, { succeeded: number; failed: number }>()
  for (const row of rows) {
    const tally = tallies.get(row.step_id) ?? { succeeded: 0, failed: 0 }
    if (row.status === 'succeeded') tally.succeeded += Number(row.n)
    else tally.failed += Number(row.n)
    tallies.set(row.step_id, tally)
  }
  return tallies
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
  filter: {
    workflowId?: string
    status?: string
    /** Created at or after, and before, these times (epoch ms). */
    since?: number
    until?: number
    limit: number
    cursor?: string
  },
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
  if (filter.since !== undefined) query.where('created_at', '>=', filter.since)
  if (filter.until !== undefined) query.where('created_at', '<', filter.until)
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

/** Oldest first (of one step with `stepId`); the cursor is the id of the last line given. */
export async function readLogs(
  knex: Knex,
  runId: string,
  limit: number,
  cursor?: string,
  stepId?: string,
): Promise<Page<LogLine>> {
  const after = decodeCursor(cursor, ['serial'])
  const query = knex('run_logs')
    .where('run_id', runId)
    .orderBy('id', 'asc')
    .limit(limit + 1)
  if (stepId !== undefined) query.where('step_id', stepId)
  if (after) query.where('id', '>', Number(after[0]))
  const rows: Record<string, unknown>[] = await query
  const items = rows.slice(0, limit).map(logLine)
  const last = rows.length > limit ? rows[limit - 1] : undefined
  return { items, nextCursor: last ? encodeCursor([Number(last.id)]) : null }
}

const logLine = (r: Record<string, unknown>): LogLine => ({
  ts: iso(r.ts)!,
  level: r.level as string,
  stepId: (r.step_id as string | null) ?? null,
  msg: r.msg as string,
  data: json(r.data),
})

/** A run's log lines after the one with id `afterId` (0: from the first), oldest first, with their ids. */
export async function logLinesAfter(
  knex: Knex,
  runId: string,
  afterId: number,
  limit: number,
): Promise<(LogLine & { id: number })[]> {
  const rows: Record<string, unknown>[] = await knex('run_logs')
    .where('run_id', runId)
    .andWhere('id', '>', afterId)
    .orderBy('id', 'asc')
    .limit(limit)
  return rows.map((r) => ({ id: Number(r.id), ...logLine(r) }))
}

export interface ItemView {
  index: number
  status: string
  attempts: number
  output: unknown
  error: unknown
  childRunId?: string
  finishedAt: string | null
}

/** The ended items of a `forEach` step in item order; the cursor is the index of the last item given. */
export async function listItems(
  knex: Knex,
  runId: string,
  stepId: string,
  limit: number,
  cursor?: string,
): Promise<Page<ItemView>> {
  const after = decodeCursor(cursor, ['serial'])
  const query = knex('step_items')
    .where({ run_id: runId, step_id: stepId })
    .orderBy('idx', 'asc')
    .limit(limit + 1)
  if (after) query.andWhere('idx', '>', Number(after[0]))
  const rows: Record<string, unknown>[] = await query
  const items = rows.slice(0, limit).map((r) => {
    const item: ItemView = {
      index: Number(r.idx),
      status: r.status as string,
      attempts: Number(r.attempts),
      output: json(r.output),
      error: json(r.error),
      finishedAt: iso(r.finished_at),
    }
    if (r.child_run_id) item.childRunId = r.child_run_id as string
    return item
  })
  const last = rows.length > limit ? rows[limit - 1] : undefined
  return { items, nextCursor: last ? encodeCursor([Number(last.idx)]) : null }
}
