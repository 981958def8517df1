// Liveness, readiness and the piece catalogue.
import { Hono } from 'hono'
import { pieceCatalogue } from '../../piece-sdk/catalogue.js'
import type { Engine } from '../../runtime/engine.js'
import { errorBody } from '../errors.js'

export function systemRoutes(engine: Engine): Hono {
  const app = new Hono()
  app.get('/health', (c) => c.json({ status: 'ok' }))
  app.get('/ready', async (c) => {
    try {
      await engine.db.knex.raw('select 1')
    } catch (error) {
      return c.json(errorBody('NOT_READY', `the database does not answer: ${(error as Error).message}`), 503)
    }
    if (!engine.checkpointsHealthy)
      return c.json(
        errorBody('NOT_READY', 'checkpoints cannot be written: the database is away or full'),
        503,
      )
    const { poolThreads, sandboxThreads } = engine.executors
    if (poolThreads + sandboxThreads === 0)
      return c.json(errorBody('NOT_READY', 'the worker pool has no threads'), 503)
    return c.json({ status: 'ready', database: engine.db.kind, threads: poolThreads, sandboxThreads })
  })
  return app
}

export function pieceRoutes(engine: Engine): Hono {
  const app = new Hono()
  const catalogue = pieceCatalogue(engine.registry, (piece) => engine.credentialsPresent(piece))
  app.get('/', (c) => c.json({ items: catalogue, nextCursor: null }))
  return app
}
