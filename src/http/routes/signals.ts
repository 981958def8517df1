// POST /api/v1/signals/:name — a broadcast: the signal reaches every run with a step waiting for
// that name and key. Not buffered: a run that does not wait for it yet never gets it.
import { Hono } from 'hono'
import type { Engine } from '../../runtime/engine.js'
import { check, readBody } from '../body.js'
import { BroadcastBody } from '../schemas.js'

export function signalRoutes(engine: Engine): Hono {
  const app = new Hono()
  app.post('/:name', async (c) => {
    const { key, data } = check(BroadcastBody, await readBody(c), 'the signal')
    return c.json(await engine.broadcast(c.req.param('name'), key, data), 202)
  })
  return app
}
