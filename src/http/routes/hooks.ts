// ANY /hooks/:path — webhook triggers. The run is durably recorded before any answer.
import { Hono } from 'hono'
import { checkValueLimits } from '../../definition/value-limits.js'
import type { Engine } from '../../runtime/engine.js'
import { checkSignature, type WebhookRoutes } from '../../triggers/webhooks.js'
import { HttpError } from '../errors.js'
import { requestBody, requestHeaders } from '../node-request.js'

/** Headers kept out of the run's input: credentials, not data. */
const HIDDEN_HEADERS = new Set(['authorization', 'x-piecework-signature', 'webhook-signature'])

/** How long `respond: onComplete` waits for the run before answering 202 with its id. */
const ON_COMPLETE_WAIT_MS = 5 * 60_000

const UTF8 = new TextDecoder()

function parseBody(raw: Uint8Array, type: string): unknown {
  if (raw.byteLength === 0) return null
  const text = UTF8.decode(raw)
  if (/\bjson\b/.test(type)) {
    try {
      return JSON.parse(text)
    } catch {
      throw new HttpError('BAD_REQUEST', 'the body is not valid JSON')
    }
  }
  if (type.startsWith('application/x-www-form-urlencoded'))
    return Object.fromEntries(new URLSearchParams(text))
  return text
}

export function hookRoutes(engine: Engine, routes: WebhookRoutes): Hono {
  const app = new Hono()
  app.all('/*', async (c) => {
    const path = c.req.path.replace(/^\/hooks\/?/, '')
    // a miss may be a workflow another process sharing the database has just created
    const route = routes.find(path) ?? (await routes.reload().then(() => routes.find(path)))
    if (!route) throw new HttpError('NOT_FOUND', `no workflow listens on /hooks/${path}`)
    if (route.method !== 'ANY' && route.method !== c.req.method) {
      c.header('Allow', route.method)
      throw new HttpError(
        'METHOD_NOT_ALLOWED',
        `/hooks/${route.path} takes ${route.method}, not ${c.req.method}`,
      )
    }
    const raw = await requestBody(c)
    const now = Date.now()
    const signed = route.secret
      ? checkSignature(route.secret, raw, (name) => c.req.header(name), now, routes.toleranceMs)
      : { ok: true as const }
    if (!signed.ok) throw new HttpError('UNAUTHORIZED', signed.reason)
    const headers = requestHeaders(c, HIDDEN_HEADERS)
    const query = c.req.query()
    const body = parseBody(raw, c.req.header('content-type') ?? '')
    // the run's input: nested at most 100 deep and free of NUL, as every body the API takes
    checkValueLimits(query, 'the query', { root: 'query' })
    checkValueLimits(body, 'the body', { root: 'body' })
    const input = { method: c.req.method, path: route.path, headers, query, body }
    const replay = signed.replayId
    if (replay && !(await routes.ids.remember(route.workflowId, replay.id, replay.expiresAt, now)))
      throw new HttpError(
        'CONFLICT',
        `webhook-id '${replay.id}' was taken already: a replayed request starts nothing`,
      )
    const notTaken = async (error: unknown): Promise<never> => {
      // not taken after all: the sender may send the same message again
      if (replay) await routes.ids.forget(route.workflowId, replay.id).catch(() => {})
      throw error
    }
    const options = { unlessPaused: true }
    if (route.respond === 'immediately') {
      const { id } = await engine.startRun(route.workflowId, input, options).catch(notTaken)
      return c.json({ id }, 202)
    }
    const { id, outcome } = await engine
      .startAwaitingEnd(route.workflowId, input, options, ON_COMPLETE_WAIT_MS)
      .catch(notTaken)
    const run = await outcome
    if (run.status === 'succeeded') return c.json(run.output as object, 200)
    // the request was taken and the run ended by its own logic: not a fault of the server (5xx)
    if (run.status === 'failed' || run.status === 'cancelled') {
      return c.json({ error: run.error, runId: id }, 422)
    }
    return c.json({ id, status: run.status }, 202)
  })
  return app
}
