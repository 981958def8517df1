// Listening comes before anything else that `piecework serve` does: a port that another process
// holds is refused before the engine opens the database, deploys or resumes a run. Until the app is
// ready, every request is answered 503 (NOT_READY), /health included.
import { type ServerType, serve } from '@hono/node-server'
import { EngineError } from '../errors.js'
import { errorBody } from './errors.js'

export class PortInUseError extends EngineError {
  constructor(host: string, port: number) {
    super(
      'PORT_IN_USE',
      `${host}:${port} is in use by another process: stop it, or set server.port (PIECEWORK_SERVER_PORT)`,
    )
  }
}

/** Hono's `app.fetch`: the Node bindings (`incoming`, `outgoing`) come after the request. */
type Fetch = Parameters<typeof serve>[0]['fetch']

const starting: Fetch = () =>
  Response.json(errorBody('NOT_READY', 'piecework is starting'), {
    status: 503,
    headers: { 'retry-after': '1' },
  })

export interface Listening {
  server: ServerType
  /** From now on requests go to `fetch`. */
  ready(fetch: Fetch): void
  close(): Promise<void>
}

export async function listen(host: string, port: number): Promise<Listening> {
  let handler = starting
  const server = serve({
    fetch: (request, env) => handler(request, env),
    hostname: host,
    port,
  })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(host, port) : error),
    )
  })
  return {
    server,
    ready: (fetch) => {
      handler = fetch
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // idle keep-alive connections and event streams would hold the close open
        ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
      }),
  }
}
