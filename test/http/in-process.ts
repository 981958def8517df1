// The HTTP API in process: an engine on a fresh database (see ../helpers/db.ts), its webhook routes
// and the Hono app, called with `app.request()` — no port, no child process.
import type { Hono } from 'hono'
import { createApp } from '../../src/http/app.js'
import { Engine } from '../../src/runtime/engine.js'
import { WebhookRoutes } from '../../src/triggers/webhooks.js'
import { freshDatabaseUrl } from '../helpers/db.js'

export interface InProcessApi {
  app: Hono
  engine: Engine
  /** What the app reported as unexpected (each one a 500); a client's mistake must add nothing. */
  unexpected: unknown[]
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
  close(): Promise<void>
}

export async function openInProcessApi(): Promise<InProcessApi> {
  const engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
  const webhooks = new WebhookRoutes(engine)
  await webhooks.reload()
  await engine.start()
  const unexpected: unknown[] = []
  const app = createApp(engine, {
    apiKeys: [],
    bodyLimit: 16 * 1024 * 1024,
    webhooks,
    report: (error) => unexpected.push(error),
  })
  return {
    app,
    engine,
    unexpected,
    request: (path, { json, ...init } = {}) =>
      Promise.resolve(
        app.request(
          path,
          json === undefined
            ? init
            : {
                method: 'POST',
                ...init,
                headers: { 'content-type': 'application/json', ...init.headers },
                body: JSON.stringify(json),
              },
        ),
      ),
    close: async () => {
      webhooks.stop()
      await engine.close(1_000)
    },
  }
}
