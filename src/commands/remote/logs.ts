// `piecework runs logs ID [--follow]`: a run's log lines, and with --follow the new ones as they
// come (the run's event stream) until the run ends.
import type { components } from '../../http/api-types.gen.js'
import { RUN_ENDED, type RunStatus } from '../../model/status.js'
import { type Connection, RemoteError, unwrap } from './client.js'
import { serverEvents } from './events.js'
import type { Format, Write } from './output.js'

type LogLine = components['schemas']['LogPage']['items'][number]

const PAGE = 500

function showLine(line: LogLine, format: Format): string {
  if (format === 'json') return `${JSON.stringify(line)}\n`
  const data = line.data === null || line.data === undefined ? '' : ` ${JSON.stringify(line.data)}`
  const step = line.stepId ? ` [${line.stepId}]` : ''
  return `${line.ts} ${line.level.padEnd(5)}${step} ${line.msg}${data}\n`
}

/** Reconnections after the event stream broke off before the run's end, before giving up. */
const RECONNECTS = 5

/**
 * Prints the run's log lines, oldest first (with `--output json`, one JSON object a line). With
 * `follow`, goes on until the run has ended and answers its exit code (0 succeeded, 1 failed or
 * cancelled); without, answers 0.
 */
export async function followLogs(
  connection: Connection,
  id: string,
  options: { follow?: boolean },
  format: Format,
  out: Write,
): Promise<number> {
  if (!options.follow) return printLogs(connection, id, format, out)
  const status = await streamLogs(connection, id, (line) => out(showLine(line, format)))
  if (format === 'table') out(`run ${id}: ${status}\n`)
  return status === 'succeeded' ? 0 : 1
}

/** Every log line so far, a page at a time. */
async function printLogs({ api }: Connection, id: string, format: Format, out: Write): Promise<number> {
  let cursor: string | undefined
  do {
    const page = await unwrap(
      api.GET('/api/v1/runs/{id}/logs', { params: { path: { id }, query: { limit: PAGE, cursor } } }),
    )
    for (const line of page.items) out(showLine(line, format))
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return 0
}

/**
 * The run's events (GET /api/v1/runs/:id/events) until it ends: each log line to `print`, then the
 * status it ended in. A stream that breaks off is taken up after the last event seen
 * (`Last-Event-ID`), so that no line is printed twice or lost.
 */
async function streamLogs({ api, server }: Connection, id: string, print: (line: LogLine) => void) {
  let lastId: string | undefined
  for (let reconnects = 0; ; reconnects++) {
    const header = lastId === undefined ? {} : { 'Last-Event-ID': lastId }
    const answer = await api.GET('/api/v1/runs/{id}/events', {
      params: { path: { id }, header },
      parseAs: 'stream',
    })
    const body = await unwrap(answer)
    let status: RunStatus | undefined
    try {
      for await (const event of serverEvents(body as ReadableStream<Uint8Array>)) {
        if (event.id !== undefined) lastId = event.id
        const data = JSON.parse(event.data)
        if (event.event === 'log')
          print({ ts: data.ts, level: data.level, stepId: data.stepId, msg: data.msg, data: data.data })
        else if (event.event === 'snapshot' || event.event === 'run') status = data.status
      }
    } catch {
      // the connection was cut: taken up below
    }
    if (status && RUN_ENDED.has(status)) return status
    if (reconnects >= RECONNECTS)
      throw new RemoteError(
        `the events of run ${id} keep breaking off (${server}); its logs: piecework runs logs ${id}`,
        1,
      )
    await new Promise((resolve) => setTimeout(resolve, 500 * (reconnects + 1)))
  }
}
