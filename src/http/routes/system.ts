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
    // threads and sandbox processes start at the first step that needs them: their number is what
    // the engine runs at once, and `threadsUp` says how many are up now
    const { threads, sandboxThreads } = engine.executors.capacity
    return c.json({
      status: 'ready',
      database: engine.db.kind,
      threads,
      sandboxThreads,
      threadsUp: engine.executors.threads,
    })
  })
  return app
}

export function pieceRoutes(engine: Engine): Hono {
  const app = new Hono()
  const catalogue = pieceCatalogue(engine.registry, (piece) => engine.credentialsPresent(piece))
  app.get('/', (c) => c.json({ items: catalogue, nextCursor: null }))
  return app
}
