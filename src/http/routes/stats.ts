// /api/v1/stats: figures about runs for overviews (the run monitor's workflow list).
import { Hono } from 'hono'
import type { Engine } from '../../runtime/engine.js'
import { runStatsByWorkflow } from '../../store/run-stats.js'
import { check } from '../body.js'
import { RunStatsQuery } from '../schemas.js'

export function statsRoutes(engine: Engine): Hono {
  const app = new Hono()

  app.get('/runs', async (c) => {
    const { since } = check(RunStatsQuery, c.req.query(), 'the query')
    const ids = (await engine.workflows.list()).map((w) => w.id)
    const items = await runStatsByWorkflow(engine.db.knex, ids, since)
    return c.json({ since: new Date(since).toISOString(), items, nextCursor: null })
  })

  return app
}
