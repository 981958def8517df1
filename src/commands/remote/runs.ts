// `piecework start` and `piecework runs list | get | cancel | retry | signal`: runs on a running server.
import type { components } from '../../http/api-types.gen.js'
import { RUN_ENDED } from '../../model/status.js'
import { parseJsonArg } from '../json-arg.js'
import { type Connection, unwrap } from './client.js'
import { followLogs } from './logs.js'
import { asJson, brief, duration, type Format, table, type Write, when } from './output.js'

type Run = components['schemas']['Run']
type Status = Run['status']

/**
 * The exit code of a command that waited for a run: 0 when it succeeded, 1 when it failed, was
 * cancelled or has not ended within the wait (which stderr says).
 */
function exitOf(run: { id: string; status: Status }, err: Write): number {
  if (!RUN_ENDED.has(run.status))
    err(`piecework: run ${run.id} has not ended within --wait (${run.status})\n`)
  return run.status === 'succeeded' ? 0 : 1
}

/** A run for people: a line on the run, then its steps. */
export function showRun(run: Run): string {
  const error = run.error ? `\nerror: ${brief(run.error, 200)}` : ''
  const head =
    `run ${run.id}: ${run.status} (workflow ${run.workflowId} v${run.workflowVersion}, ` +
    `created ${when(run.createdAt)}, took ${duration(run.startedAt, run.finishedAt)})${error}\n`
  const steps = table(
    ['step', 'status', 'attempts', 'took', 'output'],
    run.steps.map((s) => [
      s.id,
      s.waitingFor ? `${s.status} for ${s.waitingFor.signal}` : s.status,
      s.attempts,
      duration(s.startedAt, s.finishedAt),
      brief(s.error ?? s.output),
    ]),
  )
  const output = run.status === 'succeeded' ? `output: ${brief(run.output, 200)}\n` : ''
  return head + steps + output
}

export interface StartOptions {
  input?: string
  wait?: string
  follow?: boolean
  quiet?: boolean
}

export async function startRun(
  connection: Connection,
  workflowId: string,
  options: StartOptions,
  format: Format,
  out: Write,
  err: Write,
): Promise<number> {
  const input = options.input === undefined ? {} : await parseJsonArg('--input', options.input)
  const query = options.wait === undefined ? {} : { wait: options.wait }
  const answer = await connection.api.POST('/api/v1/workflows/{id}/runs', {
    params: { path: { id: workflowId }, query },
    body: { input },
  })
  const started = await unwrap(answer)
  const run = answer.response.status === 200 ? (started as Run) : undefined
  if (options.quiet) out(`${started.id}\n`)
  else if (format === 'json') out(asJson(started))
  else out(run ? showRun(run) : `run ${started.id}: ${started.status}\n`)
  if (options.follow) return followLogs(connection, started.id, { follow: true }, format, out)
  return options.wait === undefined ? 0 : exitOf(started, err)
}

export interface ListOptions {
  workflow?: string
  status?: Status
  limit?: number
  cursor?: string
}

export async function listRuns(
  { api }: Connection,
  options: ListOptions,
  format: Format,
  out: Write,
  err: Write,
): Promise<number> {
  const query = {
    workflowId: options.workflow,
    status: options.status,
    limit: options.limit,
    cursor: options.cursor,
  }
  const page = await unwrap(api.GET('/api/v1/runs', { params: { query } }))
  if (format === 'json') {
    out(asJson(page))
    return 0
  }
  if (page.items.length === 0) out('no runs\n')
  else
    out(
      table(
        ['id', 'workflow', 'version', 'status', 'created', 'took'],
        page.items.map((r) => [
          r.id,
          r.workflowId,
          r.workflowVersion,
          r.status,
          when(r.createdAt),
          duration(r.startedAt, r.finishedAt),
        ]),
      ),
    )
  if (page.nextCursor) err(`more: --cursor ${page.nextCursor}\n`)
  return 0
}

export async function getRun(
  { api }: Connection,
  id: string,
  wait: string | undefined,
  format: Format,
  out: Write,
  err: Write,
): Promise<number> {
  const query = wait === undefined ? {} : { wait }
  const run = await unwrap(api.GET('/api/v1/runs/{id}', { params: { path: { id }, query } }))
  out(format === 'json' ? asJson(run) : showRun(run))
  // asked to wait: the exit says how it ended, as `piecework run`'s does
  return wait === undefined ? 0 : exitOf(run, err)
}

export async function cancelRun({ api }: Connection, id: string, format: Format, out: Write) {
  const run = await unwrap(api.POST('/api/v1/runs/{id}/cancel', { params: { path: { id } } }))
  out(format === 'json' ? asJson(run) : `run ${run.id}: ${run.status}\n`)
  return 0
}

export async function retryRun({ api }: Connection, id: string, format: Format, out: Write) {
  const run = await unwrap(api.POST('/api/v1/runs/{id}/retry', { params: { path: { id } } }))
  out(format === 'json' ? asJson(run) : `run ${run.id}: ${run.status} again from its failed steps\n`)
  return 0
}

/** `NAME` and `--data JSON` (or `@file`): the data is null when none is given. */
export async function signalRun(
  { api }: Connection,
  id: string,
  name: string,
  data: string | undefined,
  format: Format,
  out: Write,
): Promise<number> {
  const value = data === undefined ? null : await parseJsonArg('--data', data)
  const { taken } = await unwrap(
    api.POST('/api/v1/runs/{id}/signals/{name}', { params: { path: { id, name } }, body: { data: value } }),
  )
  if (format === 'json') out(asJson({ taken }))
  else
    out(
      taken
        ? `signal ${name}: taken by step ${taken}\n`
        : `signal ${name}: buffered until a step waits for it\n`,
    )
  return 0
}
