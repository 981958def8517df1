// `piecework runs logs ID [--follow]`: a run's log lines, and with --follow the new ones as they
// come (polling the logs endpoint) until the run ends.
import type { components } from '../../http/api-types.gen.js'
import { RUN_ENDED } from '../../model/status.js'
import { type Connection, unwrap } from './client.js'
import type { Format, Write } from './output.js'

type LogLine = components['schemas']['LogPage']['items'][number]

const POLL_MS = 500
const PAGE = 500

function showLine(line: LogLine, format: Format): string {
  if (format === 'json') return `${JSON.stringify(line)}\n`
  const data = line.data === null || line.data === undefined ? '' : ` ${JSON.stringify(line.data)}`
  const step = line.stepId ? ` [${line.stepId}]` : ''
  return `${line.ts} ${line.level.padEnd(5)}${step} ${line.msg}${data}\n`
}

/**
 * Prints the run's log lines, oldest first (with `--output json`, one JSON object a line). With
 * `follow`, goes on until the run has ended and answers its exit code (0 succeeded, 1 failed or
 * cancelled); without, answers 0.
 */
export async function followLogs(
  { api }: Connection,
  id: string,
  options: { follow?: boolean },
  format: Format,
  out: Write,
): Promise<number> {
  const path = { id }
  let cursor: string | undefined
  // lines of the page at `cursor` already printed: a page is re-read until it is full
  let seen = 0
  for (;;) {
    // the status before the lines: every line of a run that had ended by now is in this read
    const status = options.follow
      ? (await unwrap(api.GET('/api/v1/runs/{id}', { params: { path, query: {} } }))).status
      : undefined
    for (;;) {
      const page = await unwrap(
        api.GET('/api/v1/runs/{id}/logs', { params: { path, query: { limit: PAGE, cursor } } }),
      )
      for (const line of page.items.slice(seen)) out(showLine(line, format))
      if (!page.nextCursor) {
        seen = page.items.length
        break
      }
      cursor = page.nextCursor
      seen = 0
    }
    if (status === undefined) return 0
    if (RUN_ENDED.has(status)) {
      if (format === 'table') out(`run ${id}: ${status}\n`)
      return status === 'succeeded' ? 0 : 1
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}
