// /api/v1/runs: reading runs, their logs and live events; cancelling and retrying them.
import { Hono } from 'hono'
import { RUN_ENDED } from '../../model/status.js'
import type { Engine } from '../../runtime/engine.js'
import { listItems, listRuns, readLogs } from '../../store/runs.js'
import { check, readBody } from '../body.js'
import { HttpError } from '../errors.js'
import { RUN_STREAM_DEFAULTS, type RunStreamOptions, runEventStream } from '../run-stream.js'
import { ItemsQuery, LogQuery, RunListQuery, SignalBody, WaitQuery } from '../schemas.js'

export function runRoutes(engine: Engine, stream: RunStreamOptions = RUN_STREAM_DEFAULTS): Hono {
  const app = new Hono()

  app.get('/', async (c) => {
    const query = check(RunListQuery, c.req.query(), 'the query')
    return c.json(await listRuns(engine.db.knex, query))
  })

  app.get('/:id', async (c) => {
    const { wait } = check(WaitQuery, c.req.query(), 'the query')
    return c.json(await engine.getRun(c.req.param('id'), wait ?? 0))
  })

  app.get('/:id/logs', async (c) => {
    const { limit, cursor, stepId } = check(LogQuery, c.req.query(), 'the query')
    const run = await engine.getRun(c.req.param('id'))
    if (stepId !== undefined && !run.steps.some((s) => s.id === stepId))
      throw new HttpError('NOT_FOUND', `run ${run.id} has no step '${stepId}'`)
    return c.json(await readLogs(engine.db.knex, run.id, limit, cursor, stepId))
  })

  app.post('/:id/cancel', async (c) => {
    const run = await engine.getRun(c.req.param('id'))
    if (RUN_ENDED.has(run.status)) throw new HttpError('CONFLICT', `run ${run.id} has already ${run.status}`)
    await engine.cancelRun(run.id)
    return c.json(await engine.getRun(run.id, 5_000))
  })

  app.post('/:id/retry', async (c) => {
    const run = await engine.getRun(c.req.param('id'))
    if (run.status !== 'failed')
      throw new HttpError('CONFLICT', `run ${run.id} is ${run.status}: only failed runs can be retried`)
    await engine.retryRun(run.id)
    return c.json({ id: run.id, status: 'running' }, 202)
  })

  app.post('/:id/signals/:name', async (c) => {
    const { data } = check(SignalBody, await readBody(c), 'the signal')
    const taken = await engine.signal(c.req.param('id'), c.req.param('name'), data)
    return c.json(taken, 202)
  })

  app.get('/:id/steps/:stepId/items', async (c) => {
    const { limit, cursor } = check(ItemsQuery, c.req.query(), 'the query')
    const run = await engine.getRun(c.req.param('id'))
    const stepId = c.req.param('stepId')
    if (!run.steps.some((s) => s.id === stepId))
      throw new HttpError('NOT_FOUND', `run ${run.id} has no step '${stepId}'`)
    return c.json(await listItems(engine.db.knex, run.id, stepId, limit, cursor))
  })

  app.get('/:id/events', (c) => runEventStream(c, engine, c.req.param('id'), stream))

  return app
}
