// A run's Server-Sent Events: a snapshot, then every change until the run ends. Steps and the run
// itself come live from this process's supervisor when it holds the run, and from the database
// (woken by the holder's notices, or by a slow poll) when another process does. Log lines always
// come from the database, each with its line id as the event id: a client that reconnects with
// `Last-Event-ID` gets a fresh snapshot and then exactly the lines it had not seen.
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { RUN_ENDED, type RunStatus } from '../model/status.js'
import type { Engine } from '../runtime/engine.js'
import { logLinesAfter } from '../store/runs.js'
import { HttpError } from './errors.js'

export interface RunStreamOptions {
  /** A comment line this often keeps a quiet stream open through proxies. */
  keepAliveMs: number
  /** How often a run held by another process is read again without being told of a change. */
  pollMs: number
}

export const RUN_STREAM_DEFAULTS: RunStreamOptions = { keepAliveMs: 15_000, pollMs: 5_000 }

/** Log lines read at a time. */
const LOG_PAGE = 500

interface Outgoing {
  event?: string
  data?: unknown
  /** The last log line id sent with (or before) this event: where a reconnection takes up. */
  id?: number
  comment?: string
}

/** The log line id a reconnecting client has seen up to (0 for a first connection). */
export function lastEventId(header: string | undefined): number {
  if (header === undefined || header === '') return 0
  if (!/^\d{1,15}$/.test(header)) {
    throw new HttpError('BAD_REQUEST', `Last-Event-ID must be an event id this stream sent, not '${header}'`)
  }
  return Number(header)
}

export async function runEventStream(c: Context, engine: Engine, id: string, options: RunStreamOptions) {
  let logId = lastEventId(c.req.header('last-event-id'))
  const queue: Outgoing[] = []
  const sent = new Map<string, string>()
  let runStatus: RunStatus | undefined
  let wake: (() => void) | undefined
  let ended = false
  let stale = true
  let closed = false
  const push = (item: Outgoing) => {
    queue.push(item.comment ? item : { ...item, id: logId })
    wake?.()
  }
  const step = (stepId: string, status: string, attempts: number) => {
    const key = `${status}:${attempts}`
    if (sent.get(stepId) === key) return
    sent.set(stepId, key)
    push({ event: 'step', data: { runId: id, stepId, status, attempts } })
  }
  const run = (status: RunStatus) => {
    if (status === runStatus) return
    runStatus = status
    // the end is told last, after the log lines that came with it
    if (RUN_ENDED.has(status)) ended = true
    else push({ event: 'run', data: { runId: id, status } })
  }
  const onStep = (runId: string, s: { id: string; status: string; attempts: number }) => {
    if (runId === id) step(s.id, s.status, s.attempts)
  }
  const onRun = (runId: string, state: { status: RunStatus }) => {
    if (runId === id) run(state.status)
  }
  const changed = () => {
    stale = true
    wake?.()
  }
  // listen before reading the snapshot, so that no change between the two is lost
  engine.events.on('step', onStep)
  engine.events.on('run', onRun)
  const unwatch = engine.changes.watch(id, changed)
  const stop = () => {
    engine.events.off('step', onStep)
    engine.events.off('run', onRun)
    unwatch()
  }
  const first = await engine.getRun(id).catch((error: unknown) => {
    stop()
    throw error
  })
  runStatus = first.status as RunStatus
  for (const s of first.steps) sent.set(s.id, `${s.status}:${s.attempts}`)
  /** A run ended before the snapshot was read has nothing more to tell than its last lines. */
  const endedFirst = RUN_ENDED.has(runStatus)
  ended = endedFirst

  /** What the database holds now: new log lines, and steps that changed when another process runs it. */
  const refresh = async () => {
    stale = false
    if (!engine.holds(id)) {
      const view = await engine.getRun(id)
      for (const s of view.steps) step(s.id, s.status, s.attempts)
      run(view.status as RunStatus)
    }
    for (;;) {
      const lines = await logLinesAfter(engine.db.knex, id, logId, LOG_PAGE)
      for (const { id: lineId, ...line } of lines) {
        logId = lineId
        push({ event: 'log', data: { runId: id, ...line } })
      }
      if (lines.length < LOG_PAGE) break
    }
  }

  return streamSSE(c, async (stream) => {
    stream.onAbort(() => {
      closed = true
      wake?.()
    })
    const keepAlive = setInterval(() => push({ comment: 'keep-alive' }), options.keepAliveMs)
    const poll = setInterval(() => {
      if (!engine.holds(id)) changed()
    }, options.pollMs)
    const flush = async () => {
      for (const item of queue.splice(0)) {
        if (item.comment) await stream.write(`: ${item.comment}\n\n`)
        else
          await stream.writeSSE({ event: item.event, data: JSON.stringify(item.data), id: String(item.id) })
      }
    }
    try {
      await stream.writeSSE({ event: 'snapshot', data: JSON.stringify(first), id: String(logId) })
      for (;;) {
        if (stale) await refresh()
        await flush()
        if (closed) break
        if (ended) {
          // the last lines ride with the run's last checkpoint: read once everything is durable
          await engine.durable()
          await refresh()
          if (!endedFirst) push({ event: 'run', data: { runId: id, status: runStatus } })
          await flush()
          break
        }
        if (!stale) await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
      }
    } finally {
      clearInterval(keepAlive)
      clearInterval(poll)
      stop()
    }
  })
}
