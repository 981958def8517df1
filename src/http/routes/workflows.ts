// /api/v1/workflows: definitions and their versions, and starting runs of them.
import { Hono } from 'hono'
import { ConflictError, ValidationError } from '../../errors.js'
import type { Engine } from '../../runtime/engine.js'
import type { StoredVersion } from '../../store/workflows.js'
import { check, readBody } from '../body.js'
import { HttpError } from '../errors.js'
import { StartRunBody, VersionQuery, WaitQuery } from '../schemas.js'

/** A webhook's secret is never given back. */
function redact(definition: unknown): unknown {
  const d = definition as { trigger?: { with?: Record<string, unknown> } }
  if (!d?.trigger?.with || !('secret' in d.trigger.with)) return definition
  return { ...d, trigger: { ...d.trigger, with: { ...d.trigger.with, secret: '[redacted]' } } }
}

/** What a body that is not an object is, for the error that says so. */
function kindOf(body: unknown): string {
  if (body === undefined) return 'an empty body'
  if (body === null) return 'null'
  return Array.isArray(body) ? 'an array' : `a ${typeof body}`
}

export function workflowView(w: StoredVersion) {
  return {
    id: w.id,
    name: w.name,
    version: w.version,
    triggerKind: w.triggerKind,
    definition: redact(w.definition),
    createdAt: new Date(w.createdAt).toISOString(),
    updatedAt: new Date(w.updatedAt).toISOString(),
    ...pauseView(w.pausedAt),
  }
}

function pauseView(pausedAt: number | null | undefined) {
  return { paused: pausedAt != null, pausedAt: pausedAt == null ? null : new Date(pausedAt).toISOString() }
}

/**
 * `ownedByFiles`: workflow id → the file of the workflows folder it is deployed from. Such a
 * workflow is changed through its file: an API change would be undone at the next start.
 */
export function workflowRoutes(engine: Engine, ownedByFiles: ReadonlyMap<string, string> = new Map()): Hono {
  const app = new Hono()
  const notOwnedByAFile = (id: string, doing: string) => {
    const file = ownedByFiles.get(id)
    if (file === undefined) return
    throw new ConflictError(
      `workflow '${id}' is deployed from ${file}: it cannot be ${doing} through the API (the file is deployed again at every start); change or remove the file instead`,
    )
  }

  app.post('/', async (c) => {
    const { workflow, version } = await engine.deploy(await readBody(c, { yaml: true }), {
      mustNotExist: true,
    })
    engine.workflowChanged(workflow.id)
    return c.json(workflowView(await engine.workflows.get(workflow.id, version)), 201)
  })

  app.get('/', async (c) => {
    const items = (await engine.workflows.list()).map((w) => ({
      id: w.id,
      name: w.name ?? null,
      version: w.currentVersion,
      triggerKind: w.triggerKind,
      createdAt: new Date(w.createdAt).toISOString(),
      updatedAt: new Date(w.updatedAt).toISOString(),
      ...pauseView(w.pausedAt),
    }))
    return c.json({ items, nextCursor: null })
  })

  app.get('/:id', async (c) => {
    const { version } = check(VersionQuery, c.req.query(), 'the query')
    return c.json(workflowView(await engine.workflows.get(c.req.param('id'), version)))
  })

  app.put('/:id', async (c) => {
    const body = await readBody(c, { yaml: true })
    const id = c.req.param('id')
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ValidationError('the request body must be a workflow definition', [
        { path: '$', message: `must be an object, not ${kindOf(body)}` },
      ])
    }
    const definition: { id?: unknown } = { id, ...body }
    if (definition.id !== id) {
      throw new HttpError(
        'UNPROCESSABLE',
        `the definition's id ${JSON.stringify(definition.id)?.slice(0, 100)} is not '${id}'`,
      )
    }
    notOwnedByAFile(id, 'changed')
    const { version } = await engine.deploy(definition, { mustExist: true })
    engine.workflowChanged(id)
    return c.json(workflowView(await engine.workflows.get(id, version)))
  })

  app.delete('/:id', async (c) => {
    notOwnedByAFile(c.req.param('id'), 'deleted')
    await engine.workflows.remove(c.req.param('id'))
    engine.workflowChanged(c.req.param('id'))
    return c.body(null, 204)
  })

  // paused: the workflow's triggers start nothing, and neither does the API, until it is resumed
  for (const action of ['pause', 'resume'] as const) {
    app.post(`/:id/${action}`, async (c) => {
      const id = c.req.param('id')
      await engine.workflows.setPaused(id, action === 'pause')
      engine.workflowChanged(id)
      return c.json(workflowView(await engine.workflows.get(id)))
    })
  }

  app.post('/:id/runs', async (c) => {
    const { wait } = check(WaitQuery, c.req.query(), 'the query')
    const { input } = check(StartRunBody, await readBody(c), 'the request body')
    const workflowId = c.req.param('id')
    const { id, status } = await engine.startRun(workflowId, input, { unlessPaused: true })
    if (wait === undefined) return c.json({ id, status }, 202)
    const run = await engine.getRun(id, wait)
    const ended = run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled'
    return ended ? c.json(run, 200) : c.json({ id, status: run.status }, 202)
  })

  return app
}
