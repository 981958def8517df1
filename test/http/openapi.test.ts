// The OpenAPI document: valid OpenAPI 3.1 by a real validator, naming every route the app has, its
// generated types up to date; and the typed client made from it (openapi-fetch) working against a
// live `piecework serve`, every answer checked against the response schemas the document comes from.
import { readFileSync } from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import createClient from 'openapi-fetch'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_TYPES_FILE, renderApiTypes } from '../../scripts/openapi-types.js'
import type { paths } from '../../src/http/api-types.gen.js'
import { openApiDocument } from '../../src/http/openapi.js'
import * as R from '../../src/http/responses.js'
import { TEST_DB } from '../helpers/db.js'
import { type InProcessApi, openInProcessApi } from './in-process.js'
import { startServer, type TestServer } from './server.js'

const KEY = 'openapi-test-key'
/** The routes outside /api that clients call (the run monitor's pages are not API). */
const SYSTEM = ['/health', '/ready', '/metrics', '/openapi.json']
type Doc = { openapi: string; paths: Record<string, Record<string, { operationId?: string }>> }

describe('the OpenAPI document', () => {
  let api: InProcessApi
  beforeAll(async () => {
    api = await openInProcessApi()
  })
  afterAll(async () => {
    await api?.close()
  })

  it('is valid OpenAPI 3.1, by a validator of the specification', async () => {
    const doc = (await (await api.request('/openapi.json')).json()) as Doc
    expect(doc.openapi).toBe('3.1.0')
    const result = await new Validator().validate(doc as never)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('names every route of the API, each method with an operationId of its own', () => {
    const doc = openApiDocument('0.0.0') as unknown as Doc
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((k) => k !== 'parameters')
          .map((method) => `${method.toUpperCase()} ${path}`),
      ),
    )
    const routes = api.app.routes
      .filter((r) => (/^\/(api|signals)\//.test(r.path) || SYSTEM.includes(r.path)) && r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
    expect(routes).toEqual(
      expect.arrayContaining(['GET /health', 'GET /api/v1/runs/{id}', 'POST /signals/{token}']),
    )
    expect([...new Set(routes)].filter((r) => !documented.has(r))).toEqual([])
    const ids = Object.values(doc.paths).flatMap((item) =>
      Object.entries(item)
        .filter(([k]) => k !== 'parameters')
        .map(([, op]) => op.operationId),
    )
    expect(ids.every((id) => typeof id === 'string')).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('has its generated client types checked in up to date (npm run openapi:types)', async () => {
    expect(readFileSync(API_TYPES_FILE, 'utf8'), 'out of date: run npm run openapi:types').toBe(
      await renderApiTypes(),
    )
  })
})

describe(`the typed client against a live server (${TEST_DB})`, () => {
  let server: TestServer
  let client: ReturnType<typeof createClient<paths>>
  beforeAll(async () => {
    server = await startServer({ env: { PIECEWORK_AUTH_API_KEYS: KEY } })
    client = createClient<paths>({ baseUrl: server.url, headers: { authorization: `Bearer ${KEY}` } })
  })
  afterAll(async () => {
    await server?.stop()
  })

  /** Polls the run until it waits (for a signal). */
  const untilWaiting = (id: string) =>
    expect
      .poll(
        async () =>
          (await client.GET('/api/v1/runs/{id}', { params: { path: { id }, query: {} } })).data?.status,
        {
          timeout: 15_000,
        },
      )
      .toBe('waiting')

  /** The answer's data, after checking its status and its shape against the response schema. */
  function checked<S extends v.GenericSchema>(
    schema: S,
    answer: { data?: unknown; response: Response },
    status = 200,
  ) {
    expect(answer.response.status).toBe(status)
    return v.parse(schema, answer.data)
  }

  it('creates a workflow, starts runs and reads them back, each answer as the document says', async () => {
    const definition = {
      id: 'typed',
      trigger: { uses: 'manual' },
      steps: [
        {
          id: 'each',
          uses: 'code.run',
          forEach: '{{ input.items }}',
          with: { code: 'console.log("item"); return item * 2' },
        },
        { id: 'wait', uses: 'flow.wait', needs: ['each'], with: { signal: 'go' } },
      ],
      output: '{{ steps.each.output }}',
    }
    const created = checked(R.WorkflowView, await client.POST('/api/v1/workflows', { body: definition }), 201)
    expect(created).toMatchObject({ id: 'typed', version: 1 })
    checked(
      R.WorkflowView,
      await client.GET('/api/v1/workflows/{id}', {
        params: { path: { id: 'typed' }, query: { version: 1 } },
      }),
    )
    expect(checked(R.WorkflowPage, await client.GET('/api/v1/workflows')).items.map((w) => w.id)).toContain(
      'typed',
    )

    const started = checked(
      R.RunStarted,
      await client.POST('/api/v1/workflows/{id}/runs', {
        params: { path: { id: 'typed' }, query: {} },
        body: { input: { items: [1, 2, 3] } },
      }),
      202,
    )
    const path = { id: started.id }
    await untilWaiting(started.id)
    const waiting = checked(R.Run, await client.GET('/api/v1/runs/{id}', { params: { path, query: {} } }))
    expect(waiting.steps.find((s) => s.id === 'wait')?.waitingFor).toEqual({ signal: 'go' })
    const items = checked(
      R.ItemPage,
      await client.GET('/api/v1/runs/{id}/steps/{stepId}/items', {
        params: { path: { ...path, stepId: 'each' }, query: { limit: 2 } },
      }),
    )
    expect(items.items.map((i) => i.output)).toEqual([2, 4])
    expect(items.nextCursor).toEqual(expect.any(String))
    const logs = checked(
      R.LogPage,
      await client.GET('/api/v1/runs/{id}/logs', { params: { path, query: { limit: 2 } } }),
    )
    expect(logs.items).toHaveLength(2)
    const rest = checked(
      R.LogPage,
      await client.GET('/api/v1/runs/{id}/logs', { params: { path, query: { cursor: logs.nextCursor! } } }),
    )
    // items run side by side: their lines come in any order
    expect([...logs.items, ...rest.items].map((l) => l.msg).sort()).toEqual([
      '[0] item',
      '[1] item',
      '[2] item',
    ])

    const taken = checked(
      R.SignalTaken,
      await client.POST('/api/v1/runs/{id}/signals/{name}', {
        params: { path: { ...path, name: 'go' } },
        body: { data: 1 },
      }),
      202,
    )
    expect(taken).toEqual({ taken: 'wait' })
    const ended = checked(
      R.Run,
      await client.GET('/api/v1/runs/{id}', { params: { path, query: { wait: '10s' } } }),
    )
    expect(ended).toMatchObject({ status: 'succeeded', output: [2, 4, 6] })
    const page = checked(
      R.RunPage,
      await client.GET('/api/v1/runs', { params: { query: { workflowId: 'typed', limit: 10 } } }),
    )
    expect(page.items.map((r) => r.id)).toEqual([started.id])
  })

  it('runs to the end with ?wait, cancels, retries, broadcasts and lists pieces as documented', async () => {
    const fails = {
      id: 'typed-fails',
      trigger: { uses: 'manual' },
      steps: [{ id: 'no', uses: 'flow.fail', with: { message: 'no' } }],
    }
    checked(R.WorkflowView, await client.POST('/api/v1/workflows', { body: fails }), 201)
    const failed = checked(
      R.Run,
      await client.POST('/api/v1/workflows/{id}/runs', {
        params: { path: { id: 'typed-fails' }, query: { wait: '10s' } },
        body: {},
      }),
    )
    expect(failed.status).toBe('failed')
    const retried = checked(
      R.RunStarted,
      await client.POST('/api/v1/runs/{id}/retry', { params: { path: { id: failed.id } } }),
      202,
    )
    expect(retried).toEqual({ id: failed.id, status: 'running' })

    const waits = {
      id: 'typed-waits',
      trigger: { uses: 'manual' },
      steps: [{ id: 'w', uses: 'flow.wait', with: { signal: 's', key: '{{ input.k }}' } }],
    }
    checked(
      R.WorkflowView,
      await client.PUT('/api/v1/workflows/{id}', { params: { path: { id: 'typed-fails' } }, body: fails }),
    )
    checked(R.WorkflowView, await client.POST('/api/v1/workflows', { body: waits }), 201)
    const a = checked(
      R.RunStarted,
      await client.POST('/api/v1/workflows/{id}/runs', {
        params: { path: { id: 'typed-waits' }, query: {} },
        body: { input: { k: 1 } },
      }),
      202,
    )
    await untilWaiting(a.id)
    const cancelled = checked(
      R.Run,
      await client.POST('/api/v1/runs/{id}/cancel', { params: { path: { id: a.id } } }),
    )
    expect(cancelled.status).toBe('cancelled')
    const b = checked(
      R.RunStarted,
      await client.POST('/api/v1/workflows/{id}/runs', {
        params: { path: { id: 'typed-waits' }, query: {} },
        body: { input: { k: 2 } },
      }),
      202,
    )
    await untilWaiting(b.id)
    const delivered = checked(
      R.Delivered,
      await client.POST('/api/v1/signals/{name}', {
        params: { path: { name: 's' } },
        body: { key: 2, data: 'x' },
      }),
      202,
    )
    expect(delivered).toEqual({ delivered: 1 })

    expect(checked(R.PiecePage, await client.GET('/api/v1/pieces')).items.map((p) => p.name)).toContain(
      'http',
    )
    checked(R.Health, await client.GET('/health'))
    checked(R.Ready, await client.GET('/ready'))
    const gone = await client.DELETE('/api/v1/workflows/{id}', { params: { path: { id: 'typed-waits' } } })
    expect(gone.response.status).toBe(204)
  })

  it('gives errors in the documented shape, typed as such', async () => {
    const missing = await client.GET('/api/v1/runs/{id}', { params: { path: { id: 'nosuch' }, query: {} } })
    expect(missing.response.status).toBe(404)
    expect(v.parse(R.ErrorBody, missing.error).error.code).toBe('NOT_FOUND')
    const bad = await client.GET('/api/v1/runs', { params: { query: { limit: 0 } } })
    expect(bad.response.status).toBe(400)
    expect(v.parse(R.ErrorBody, bad.error).error.details?.[0]?.path).toBe('limit')
    const anonymous = await createClient<paths>({ baseUrl: server.url }).GET('/api/v1/workflows')
    expect(anonymous.response.status).toBe(401)
    expect(v.parse(R.ErrorBody, anonymous.error).error.code).toBe('UNAUTHORIZED')
  })
})
