// The Hono app: routes mounted on the engine, one error handler, auth on /api.
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Engine } from '../runtime/engine.js'
import type { RunPruner } from '../runtime/run-pruner.js'
import type { WebhookRoutes } from '../triggers/webhooks.js'
import { PACKAGE_VERSION } from '../version.js'
import { apiKeyAuth } from './auth.js'
import { errorBody, handleError } from './errors.js'
import { engineMetrics } from './metrics.js'
import { declaredLength } from './node-request.js'
import { refuseNul } from './refuse-nul.js'
import { hookRoutes } from './routes/hooks.js'
import { runRoutes } from './routes/runs.js'
import { secretRoutes } from './routes/secrets.js'
import { signalLinkRoutes } from './routes/signal-links.js'
import { signalRoutes } from './routes/signals.js'
import { statsRoutes } from './routes/stats.js'
import { pieceRoutes, systemRoutes } from './routes/system.js'
import { uiRoutes } from './routes/ui.js'
import { workflowRoutes } from './routes/workflows.js'
import { RUN_STREAM_DEFAULTS, type RunStreamOptions } from './run-stream.js'
import type { SignalLinks } from './signal-links.js'

export interface AppOptions {
  apiKeys: string[]
  bodyLimit: number
  report?: (error: unknown) => void
  /** Webhook routing; without it /hooks answers 404. */
  webhooks?: WebhookRoutes
  /** The pruner of runs.retention, whose deletions /metrics counts. */
  pruner?: RunPruner
  /** The signer of `$signalUrl` links; without it, /signals/:token refuses every token. */
  signalLinks?: SignalLinks
  /** Workflow id → the file of the workflows folder it is deployed from (changed only through it). */
  fileWorkflows?: ReadonlyMap<string, string>
  /** How run event streams keep quiet connections open and follow runs held elsewhere. */
  events?: Partial<RunStreamOptions>
  /** Serve the run monitor at `/` (from this folder; by default the package's dist/ui). */
  ui?: { enabled: boolean; dir?: string }
}

/**
 * Bodies over `max` bytes are refused with 413. A declared Content-Length is checked from the header
 * alone, which leaves Node's request to be read directly later (no web stream in between); a body
 * of unknown length (chunked) goes through hono's limit, which counts it as it streams.
 */
function limitBody(max: number): MiddlewareHandler {
  const tooLarge = (c: Context) =>
    c.json(errorBody('PAYLOAD_TOO_LARGE', `the body is over ${max} bytes`), 413)
  const streamed = bodyLimit({ maxSize: max, onError: tooLarge })
  return (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    const length = declaredLength(c)
    if (length !== undefined) return length > max ? Promise.resolve(tooLarge(c)) : next()
    return streamed(c, next)
  }
}

export function createApp(engine: Engine, options: AppOptions): Hono {
  const app = new Hono()
  const report = options.report ?? ((error) => console.error(error))
  app.onError((error, c) => handleError(error, c, report))
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), 404))
  app.use('*', limitBody(options.bodyLimit))
  app.route('/', systemRoutes(engine))
  if (options.ui?.enabled) app.route('/', uiRoutes(options.ui.dir))
  const metrics = engineMetrics(engine, { pruner: options.pruner })
  app.get('/metrics', async (c) =>
    c.text(await metrics.metrics(), 200, { 'content-type': metrics.contentType }),
  )
  // built at its first request, not in the server's start (it is the JSON Schema of every body)
  let openapi: Promise<object> | undefined
  app.get('/openapi.json', async (c) => {
    openapi ??= import('./openapi.js').then(({ openApiDocument }) => openApiDocument(PACKAGE_VERSION))
    return c.json(await openapi)
  })
  if (options.webhooks) app.route('/hooks', hookRoutes(engine, options.webhooks))
  // a signed link is its own authorisation: no API key
  app.route('/signals', signalLinkRoutes(engine, options.signalLinks))
  app.use('/api/*', apiKeyAuth(options.apiKeys))
  app.use('/api/*', refuseNul())
  app.route('/api/v1/workflows', workflowRoutes(engine, options.fileWorkflows))
  app.route('/api/v1/runs', runRoutes(engine, { ...RUN_STREAM_DEFAULTS, ...options.events }))
  app.route('/api/v1/signals', signalRoutes(engine))
  app.route('/api/v1/pieces', pieceRoutes(engine))
  app.route('/api/v1/stats', statsRoutes(engine))
  app.route('/api/v1/secrets', secretRoutes(engine))
  return app
}
