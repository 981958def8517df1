// ANY /hooks/:path — webhook triggers. The run is durably recorded before any answer.
import { Hono } from 'hono'
import { checkValueLimits } from '../../definition/value-limits.js'
import type { Engine } from '../../runtime/engine.js'
import { signatureValid, type WebhookRoutes } from '../../triggers/webhooks.js'
import { HttpError } from '../errors.js'

/** How long `respond: onComplete` waits for the run before answering 202 with its id. */
const ON_COMPLETE_WAIT_MS = 5 * 60_000

function parseBody(raw: Uint8Array, type: string): unknown {
  if (raw.byteLength === 0) return null
  const text = new TextDecoder().decode(raw)
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
    const raw = new Uint8Array(await c.req.arrayBuffer())
    if (route.secret && !signatureValid(route.secret, raw, c.req.header('x-piecework-signature'))) {
      throw new HttpError('UNAUTHORIZED', 'missing or wrong X-Piecework-Signature')
    }
    const headers = Object.fromEntries(
      Object.entries(c.req.header()).filter(
        ([name]) => name !== 'authorization' && name !== 'x-piecework-signature',
      ),
    )
    const query = c.req.query()
    const body = parseBody(raw, c.req.header('content-type') ?? '')
    // the run's input: nested at most 100 deep and free of NUL, as every body the API takes
    checkValueLimits(query, 'the query', { root: 'query' })
    checkValueLimits(body, 'the body', { root: 'body' })
    const input = { method: c.req.method, path: route.path, headers, query, body }
    const { id } = await engine.startRun(route.workflowId, input)
    if (route.respond === 'immediately') return c.json({ id }, 202)
    const run = await engine.awaitOutcome(id, ON_COMPLETE_WAIT_MS)
    if (run.status === 'succeeded') return c.json(run.output as object, 200)
    // the request was taken and the run ended by its own logic: not a fault of the server (5xx)
    if (run.status === 'failed' || run.status === 'cancelled') {
      return c.json({ error: run.error, runId: id }, 422)
    }
    return c.json({ id, status: run.status }, 202)
  })
  return app
}
