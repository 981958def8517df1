// Every route of the HTTP API and each error status it answers, over real HTTP against a
// `piecework serve` child process.
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { TEST_DB } from '../helpers/db.js'
import { createWorkflow, getJson, ISO, manual, runToEnd, startRun, type WorkflowBody } from './api-client.js'
import { expectError } from './expect-error.js'
import { type RunBody, startServer, type TestServer, waitForRun, waitForStatus } from './server.js'

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})

afterAll(async () => {
  await server?.stop()
})

interface Page<T> {
  items: T[]
  nextCursor: string | null
}

interface RunSummary {
  id: string
  workflowId: string
  status: string
  createdAt: string
}

const setValue = (id: string, value: unknown, needs?: string[]) => ({
  id,
  uses: 'data.set',
  with: { value },
  ...(needs ? { needs } : {}),
})

describe(`system routes (${TEST_DB})`, () => {
  it('answers GET /health with 200 and status ok', async () => {
    const res = await server.request('/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('answers GET /ready with 200 once the database and the pool are up', async () => {
    const res = await server.request('/ready')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ready' })
  })

  it('answers an unknown route with 404 in the error shape', async () => {
    await expectError(await server.request('/no/such/route'), 404, 'NOT_FOUND')
    await expectError(await server.request('/api/v1/nothing-here'), 404, 'NOT_FOUND')
    await expectError(await server.request('/api/v1/workflows/x', { method: 'PATCH' }), 404)
  })

  it('lists the built-in pieces with the JSON Schema of every action', async () => {
    const body = await getJson<Page<PieceBody>>(server, '/api/v1/pieces')
    expect(body.nextCursor).toBeNull()
    const names = body.items.map((p) => p.name)
    for (const name of ['data', 'flow', 'code', 'http']) expect(names).toContain(name)
    for (const piece of body.items) {
      expect(piece.version).toEqual(expect.any(String))
      for (const action of piece.actions) {
        expect(action.props, `${piece.name}.${action.name}`).toMatchObject({ type: 'object' })
        expect(action.handles).toBeDefined()
      }
    }
    const actions = (name: string) => body.items.find((p) => p.name === name)!.actions
    const request = actions('http').find((a) => a.name === 'request')!
    expect(request.props.properties).toHaveProperty('url')
    expect(request.props.required).toContain('url')
    expect(request.handles).toEqual(['out'])
    expect(actions('flow').find((a) => a.name === 'if')!.handles).toEqual(['true', 'false'])
    expect(actions('code').map((a) => a.name)).toContain('run')
    expect(actions('data').find((a) => a.name === 'set')!.props.properties).toHaveProperty('value')
  })

  it('answers GET /metrics in Prometheus text with the run and pool figures', async () => {
    const response = await server.request('/metrics')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/plain')
    const text = await response.text()
    for (const name of [
      'piecework_runs_started_total',
      'piecework_step_duration_seconds',
      'piecework_pool_queue_depth',
      'piecework_pool_utilization',
      'piecework_process_nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(name)
    }
  })

  it('answers GET /openapi.json with an OpenAPI 3 document naming every route', async () => {
    const doc = await getJson<{ openapi: string; paths: Record<string, unknown> }>(server, '/openapi.json')
    expect(doc.openapi).toMatch(/^3\./)
    for (const path of [
      '/api/v1/workflows',
      '/api/v1/workflows/{id}/runs',
      '/api/v1/runs',
      '/api/v1/runs/{id}/events',
    ]) {
      expect(doc.paths).toHaveProperty([path])
    }
  })
})

interface PieceBody {
  name: string
  version: string
  actions: {
    name: string
    props: { type: string; properties: Record<string, unknown>; required?: string[] }
    handles: unknown
  }[]
}

describe(`workflows (${TEST_DB})`, () => {
  it('creates a workflow from JSON: 201 with id, version 1, the definition and timestamps', async () => {
    const definition = manual('wf-json', [setValue('a', { n: 1 })], { name: 'From JSON' })
    const res = await server.request('/api/v1/workflows', {
      json: definition,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    expect(res.status, await res.clone().text()).toBe(201)
    const body = (await res.json()) as WorkflowBody
    expect(body).toMatchObject({ id: 'wf-json', version: 1, name: 'From JSON', triggerKind: 'manual' })
    expect(body.definition).toMatchObject({ id: 'wf-json', steps: [{ id: 'a', uses: 'data.set' }] })
    expect(body.createdAt).toMatch(ISO)
    expect(body.updatedAt).toMatch(ISO)
    expect(await getJson(server, '/api/v1/workflows/wf-json')).toEqual(body)
    const list = await getJson<Page<{ id: string; version: number; triggerKind: string }>>(
      server,
      '/api/v1/workflows',
    )
    expect(list.nextCursor).toBeNull()
    expect(list.items).toContainEqual(
      expect.objectContaining({ id: 'wf-json', version: 1, triggerKind: 'manual' }),
    )
  })

  it('creates a workflow from YAML sent as application/yaml', async () => {
    const yaml = stringify(manual('wf-yaml', [setValue('a', 'from yaml')]))
    const res = await server.request('/api/v1/workflows', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: yaml,
    })
    expect(res.status, await res.clone().text()).toBe(201)
    const body = (await res.json()) as WorkflowBody
    expect(body).toMatchObject({ id: 'wf-yaml', version: 1 })
    expect(body.definition.steps[0]).toMatchObject({ id: 'a', with: { value: 'from yaml' } })
    expect((await runToEnd(server, 'wf-yaml')).output).toBe('from yaml')
  })

  it('answers 409 when a workflow with that id exists already', async () => {
    await createWorkflow(server, manual('wf-dup', [setValue('a', 1)]))
    const res = await server.request('/api/v1/workflows', { json: manual('wf-dup', [setValue('a', 2)]) })
    await expectError(res, 409, 'CONFLICT')
    expect((await getJson<WorkflowBody>(server, '/api/v1/workflows/wf-dup')).version).toBe(1)
  })

  it('answers 400 for an invalid definition, each problem with its path', async () => {
    const res = await server.request('/api/v1/workflows', {
      json: manual('wf-invalid', [
        { id: 'a', uses: 'nosuch.piece' },
        { id: 'b', uses: 'data.set', needs: ['ghost'], with: { value: 1 } },
        { id: 'c', uses: 'http.request', with: { url: 42 } },
      ]),
    })
    const body = await expectError(res, 400, 'VALIDATION')
    const paths = (body.error.details ?? []).map((d) => d.path)
    expect(paths).toEqual(expect.arrayContaining(['steps[0].uses', 'steps[1].needs[0]', 'steps[2].with.url']))
    for (const detail of body.error.details ?? []) expect(detail.message).toEqual(expect.any(String))
    await expectError(await server.request('/api/v1/workflows/wf-invalid'), 404, 'NOT_FOUND')
  })

  it('answers 400 for malformed JSON and for malformed YAML', async () => {
    const json = await server.request('/api/v1/workflows', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id": "wf-broken", "trigger',
    })
    await expectError(json, 400, 'VALIDATION')
    const yaml = await server.request('/api/v1/workflows', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: 'id: [unclosed\nsteps: {',
    })
    await expectError(yaml, 400, 'VALIDATION')
  })

  it('answers 415 for a body that is neither JSON nor YAML', async () => {
    const res = await server.request('/api/v1/workflows', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(manual('wf-text', [setValue('a', 1)])),
    })
    await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
  })

  it('answers 413 for a body over the default 16 MiB limit', async () => {
    const body = JSON.stringify({
      ...manual('wf-huge', [setValue('a', 1)]),
      description: 'x'.repeat(17 << 20),
    })
    const res = await server.request('/api/v1/workflows', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE')
    await expectError(await server.request('/api/v1/workflows/wf-huge'), 404)
  })

  it('answers 413 for a body over the limit sent without a length (chunked)', async () => {
    // its own connection (agent: false): the server answers before the upload ends and closes it
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${server.url}/api/v1/workflows`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      })
      req.on('response', (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      })
      req.on('error', reject)
      const chunk = 'x'.repeat(1 << 20)
      let sent = 0
      const write = () => {
        while (sent < 17 && req.write(chunk)) sent++
        if (sent < 17) req.once('drain', write)
        else req.end()
      }
      write()
    })
    expect(status).toBe(413)
    expect(JSON.parse(text).error.code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('answers 404 for an unknown workflow and for a version it does not have', async () => {
    await expectError(await server.request('/api/v1/workflows/no-such-workflow'), 404, 'NOT_FOUND')
    await createWorkflow(server, manual('wf-one-version', [setValue('a', 1)]))
    await expectError(await server.request('/api/v1/workflows/wf-one-version?version=2'), 404, 'NOT_FOUND')
    await expectError(await server.request('/api/v1/workflows/wf-one-version?version=two'), 400, 'VALIDATION')
  })

  it('stores a PUT as version 2 while ?version=1 still gives the old definition', async () => {
    const v1 = await createWorkflow(server, manual('wf-put', [setValue('a', 'one')]))
    const res = await server.request('/api/v1/workflows/wf-put', {
      method: 'PUT',
      json: manual('wf-put', [setValue('a', 'two')]),
    })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toMatchObject({ id: 'wf-put', version: 2 })
    const current = await getJson<WorkflowBody>(server, '/api/v1/workflows/wf-put')
    expect(current.version).toBe(2)
    expect(current.definition.steps[0]).toMatchObject({ with: { value: 'two' } })
    const old = await getJson<WorkflowBody>(server, '/api/v1/workflows/wf-put?version=1')
    expect(old.version).toBe(1)
    expect(old.definition).toEqual(v1.definition)
    const list = await getJson<Page<{ id: string; version: number }>>(server, '/api/v1/workflows')
    expect(list.items.find((w) => w.id === 'wf-put')?.version).toBe(2)
  })

  it('keeps a run started before a PUT on the version it started with', async () => {
    const delayThen = (value: string) =>
      manual('wf-inflight', [
        { id: 'pause', uses: 'flow.delay', with: { for: '1s' } },
        setValue('a', value, ['pause']),
      ])
    await createWorkflow(server, delayThen('one'))
    const { id } = await startRun(server, 'wf-inflight')
    const put = await server.request('/api/v1/workflows/wf-inflight', {
      method: 'PUT',
      json: delayThen('two'),
    })
    expect(put.status, await put.clone().text()).toBe(200)
    expect(((await put.json()) as WorkflowBody).version).toBe(2)
    const during = await getJson<RunBody>(server, `/api/v1/runs/${id}`)
    expect(['queued', 'running', 'waiting']).toContain(during.status)
    const old = await waitForRun(server, id)
    expect(old).toMatchObject({ status: 'succeeded', workflowVersion: 1, output: 'one' })
    const fresh = await runToEnd(server, 'wf-inflight')
    expect(fresh).toMatchObject({ status: 'succeeded', workflowVersion: 2, output: 'two' })
  })

  it('does not make a new version for an unchanged PUT, in JSON or in YAML', async () => {
    const definition = manual('wf-same', [setValue('a', { n: 1 })])
    await createWorkflow(server, definition)
    const again = await server.request('/api/v1/workflows/wf-same', { method: 'PUT', json: definition })
    expect(again.status, await again.clone().text()).toBe(200)
    expect(((await again.json()) as WorkflowBody).version).toBe(1)
    const { id: _id, ...withoutId } = definition
    const noId = await server.request('/api/v1/workflows/wf-same', { method: 'PUT', json: withoutId })
    expect(((await noId.json()) as WorkflowBody).version).toBe(1)
    const yaml = await server.request('/api/v1/workflows/wf-same', {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml' },
      body: stringify(definition),
    })
    expect(((await yaml.json()) as WorkflowBody).version).toBe(1)
    await expectError(await server.request('/api/v1/workflows/wf-same?version=2'), 404)
  })

  it('answers a PUT with 404 for an unknown workflow, 422 for another id and 400 when invalid', async () => {
    const put = (id: string, json: unknown) =>
      server.request(`/api/v1/workflows/${id}`, { method: 'PUT', json })
    await expectError(await put('wf-never', manual('wf-never', [setValue('a', 1)])), 404, 'NOT_FOUND')
    await createWorkflow(server, manual('wf-put-errors', [setValue('a', 1)]))
    await expectError(
      await put('wf-put-errors', manual('wf-other', [setValue('a', 1)])),
      422,
      'UNPROCESSABLE',
    )
    const invalid = await expectError(
      await put('wf-put-errors', manual('wf-put-errors', [{ id: 'a', uses: 'nosuch.piece' }])),
      400,
      'VALIDATION',
    )
    expect(invalid.error.details?.map((d) => d.path)).toContain('steps[0].uses')
    expect((await getJson<WorkflowBody>(server, '/api/v1/workflows/wf-put-errors')).version).toBe(1)
  })

  it('deletes with 204; the workflow is gone but the history of its runs stays readable', async () => {
    await createWorkflow(server, manual('wf-doomed', [setValue('a', 'kept')]))
    const run = await runToEnd(server, 'wf-doomed')
    const res = await server.request('/api/v1/workflows/wf-doomed', { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    await expectError(await server.request('/api/v1/workflows/wf-doomed'), 404, 'NOT_FOUND')
    const list = await getJson<Page<{ id: string }>>(server, '/api/v1/workflows')
    expect(list.items.map((w) => w.id)).not.toContain('wf-doomed')
    const stored = await getJson<RunBody>(server, `/api/v1/runs/${run.id}`)
    expect(stored).toMatchObject({ id: run.id, workflowId: 'wf-doomed', status: 'succeeded', output: 'kept' })
    expect(stored.steps.map((s) => s.id)).toEqual(['a'])
    const runs = await getJson<Page<RunSummary>>(server, '/api/v1/runs?workflowId=wf-doomed')
    expect(runs.items.map((r) => r.id)).toEqual([run.id])
    await expectError(await server.request('/api/v1/workflows/wf-doomed', { method: 'DELETE' }), 404)
    await expectError(
      await server.request('/api/v1/workflows/wf-doomed/runs', { json: { input: {} } }),
      404,
      'NOT_FOUND',
    )
  })
})

describe(`a server with a small body limit (${TEST_DB})`, () => {
  let small: TestServer

  beforeAll(async () => {
    small = await startServer({ env: { PIECEWORK_SERVER_BODY_LIMIT: '1024' } })
  })

  afterAll(async () => {
    await small?.stop()
  })

  it('answers 413 for a body over server.bodyLimit and takes one under it', async () => {
    const over = manual('wf-small', [setValue('a', 'x'.repeat(2048))])
    await expectError(await small.request('/api/v1/workflows', { json: over }), 413, 'PAYLOAD_TOO_LARGE')
    await expectError(await small.request('/api/v1/workflows/wf-small'), 404)
    const under = await small.request('/api/v1/workflows', { json: manual('wf-small', [setValue('a', 1)]) })
    expect(under.status).toBe(201)
  })

  it('answers 413 for a chunked body over the limit that announces no length', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ input: { pad: 'x'.repeat(4096) } }))
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 512) controller.enqueue(bytes.slice(i, i + 512))
        controller.close()
      },
    })
    const res = await small.request('/api/v1/workflows/wf-small/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE')
  })
})

describe(`starting runs (${TEST_DB})`, () => {
  beforeAll(async () => {
    await createWorkflow(server, manual('run-echo', [setValue('echo', '{{ input }}')]))
    await createWorkflow(
      server,
      manual('run-slow', [
        { id: 'pause', uses: 'flow.delay', with: { for: '2s' } },
        setValue('after', 'late', ['pause']),
      ]),
    )
  })

  it('answers 202 with only the id and status when not asked to wait', async () => {
    const res = await server.request('/api/v1/workflows/run-echo/runs', { json: { input: { n: 1 } } })
    expect(res.status).toBe(202)
    const body = (await res.json()) as { id: string; status: string }
    expect(Object.keys(body).sort()).toEqual(['id', 'status'])
    expect(['queued', 'running', 'succeeded']).toContain(body.status)
    expect(await waitForRun(server, body.id)).toMatchObject({ status: 'succeeded', output: { n: 1 } })
  })

  it('answers 200 with the finished run when it ends within ?wait', async () => {
    const res = await server.request('/api/v1/workflows/run-echo/runs?wait=10s', {
      json: { input: { n: 2 } },
    })
    expect(res.status).toBe(200)
    const run = (await res.json()) as RunBody
    expect(run).toMatchObject({
      workflowId: 'run-echo',
      workflowVersion: 1,
      status: 'succeeded',
      input: { n: 2 },
      output: { n: 2 },
      error: null,
      steps: [{ id: 'echo', status: 'succeeded', attempts: 1, output: { n: 2 }, error: null }],
    })
    for (const at of [run.createdAt, run.startedAt, run.finishedAt, run.steps[0]!.finishedAt])
      expect(at).toMatch(ISO)
  })

  it('answers 202 when the run does not end within ?wait', async () => {
    const res = await server.request('/api/v1/workflows/run-slow/runs?wait=100ms', { json: {} })
    expect(res.status).toBe(202)
    const body = (await res.json()) as { id: string; status: string }
    expect(['queued', 'running', 'waiting']).toContain(body.status)
    expect(await waitForRun(server, body.id)).toMatchObject({ status: 'succeeded', output: 'late' })
  })

  it('takes an empty body as an empty input', async () => {
    const res = await server.request('/api/v1/workflows/run-echo/runs?wait=10s', { method: 'POST' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'succeeded', input: {} })
  })

  it('answers 400 for a bad ?wait, an unknown body key or malformed JSON; 415 and 404 too', async () => {
    const start = (path: string, init: RequestInit & { json?: unknown }) => server.request(path, init)
    await expectError(
      await start('/api/v1/workflows/run-echo/runs?wait=soon', { json: {} }),
      400,
      'VALIDATION',
    )
    const unknown = await expectError(
      await start('/api/v1/workflows/run-echo/runs', { json: { inputs: {} } }),
      400,
      'VALIDATION',
    )
    expect(unknown.error.details?.map((d) => d.path)).toContain('inputs')
    const malformed = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":' }
    await expectError(await start('/api/v1/workflows/run-echo/runs', malformed), 400, 'VALIDATION')
    const text = { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }
    await expectError(await start('/api/v1/workflows/run-echo/runs', text), 415, 'UNSUPPORTED_MEDIA_TYPE')
    await expectError(await start('/api/v1/workflows/no-such/runs', { json: {} }), 404, 'NOT_FOUND')
    await expectError(await server.request('/api/v1/runs/no-such-run'), 404, 'NOT_FOUND')
  })
})

describe(`listing runs (${TEST_DB})`, () => {
  const succeeded: string[] = []
  const failed: string[] = []

  beforeAll(async () => {
    // `$number('abc')` fails the step with EXPRESSION, so the input decides how a run ends.
    await createWorkflow(server, manual('list-mixed', [setValue('parse', '{{ $number(input.word) }}')]))
    await createWorkflow(server, manual('list-other', [setValue('a', 1)]))
    for (const word of ['1', 'x', '2', '3', 'y', '4', 'z', '5']) {
      const run = await runToEnd(server, 'list-mixed', { word })
      ;(run.status === 'succeeded' ? succeeded : failed).push(run.id)
    }
    await runToEnd(server, 'list-other')
  })

  it('filters by workflowId and by status, newest first', async () => {
    expect(succeeded).toHaveLength(5)
    expect(failed).toHaveLength(3)
    const all = await getJson<Page<RunSummary>>(server, '/api/v1/runs?workflowId=list-mixed')
    expect(all.nextCursor).toBeNull()
    expect(all.items.map((r) => r.id).sort()).toEqual([...succeeded, ...failed].sort())
    expect(all.items.every((r) => r.workflowId === 'list-mixed')).toBe(true)
    expectNewestFirst(all.items)
    const bad = await getJson<Page<RunSummary>>(server, '/api/v1/runs?workflowId=list-mixed&status=failed')
    expect(bad.items.map((r) => r.id).sort()).toEqual([...failed].sort())
    expect(bad.items.every((r) => r.status === 'failed')).toBe(true)
    const good = await getJson<Page<RunSummary>>(
      server,
      '/api/v1/runs?status=succeeded&workflowId=list-mixed',
    )
    expect(good.items.map((r) => r.id).sort()).toEqual([...succeeded].sort())
    const none = await getJson<Page<RunSummary>>(
      server,
      '/api/v1/runs?workflowId=list-mixed&status=cancelled',
    )
    expect(none).toEqual({ items: [], nextCursor: null })
    const everything = await getJson<Page<RunSummary>>(server, '/api/v1/runs?limit=500')
    expect(everything.items.some((r) => r.workflowId === 'list-other')).toBe(true)
  })

  it('walks every page with limit and cursor, each run once', async () => {
    const seen = await walk('/api/v1/runs?workflowId=list-mixed&limit=3')
    expect(seen.pages).toEqual([3, 3, 2])
    expect(seen.items.map((r) => r.id).sort()).toEqual([...succeeded, ...failed].sort())
    expect(new Set(seen.items.map((r) => r.id)).size).toBe(seen.items.length)
    expectNewestFirst(seen.items)
    const filtered = await walk('/api/v1/runs?workflowId=list-mixed&status=failed&limit=2')
    expect(filtered.pages).toEqual([2, 1])
    expect(filtered.items.map((r) => r.id).sort()).toEqual([...failed].sort())
    const single = await walk('/api/v1/runs?workflowId=list-mixed&limit=1')
    expect(single.items.map((r) => r.id)).toEqual(seen.items.map((r) => r.id))
  })

  it.each(['0', '-1', 'abc', '2.5', '501'])('answers 400 for limit=%s', async (limit) => {
    const body = await expectError(await server.request(`/api/v1/runs?limit=${limit}`), 400, 'VALIDATION')
    expect(body.error.details?.map((d) => d.path)).toContain('limit')
  })

  it('answers 400 for an unknown status', async () => {
    await expectError(await server.request('/api/v1/runs?status=sleeping'), 400, 'VALIDATION')
  })

  const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  it.each([
    ['garbage', 'not-a-cursor!'],
    ['JSON that is not a list', forged({ after: 1 })],
    ['an empty list', forged([])],
    ['a list of the wrong types', forged(['yesterday', 42])],
    ['a list that is too short', forged([Date.now()])],
  ])('answers 400 for a cursor it did not give out: %s', async (_what, cursor) => {
    const res = await server.request(
      `/api/v1/runs?workflowId=list-mixed&cursor=${encodeURIComponent(cursor)}`,
    )
    await expectError(res, 400, 'VALIDATION')
  })

  async function walk(first: string) {
    const items: RunSummary[] = []
    const pages: number[] = []
    let cursor: string | null = null
    do {
      const path: string = cursor ? `${first}&cursor=${encodeURIComponent(cursor)}` : first
      const page: Page<RunSummary> = await getJson<Page<RunSummary>>(server, path)
      items.push(...page.items)
      pages.push(page.items.length)
      cursor = page.nextCursor
      expect(pages.length).toBeLessThan(20)
    } while (cursor)
    return { items, pages }
  }
})

function expectNewestFirst(items: { createdAt: string }[]) {
  const times = items.map((r) => Date.parse(r.createdAt))
  expect(times).toEqual([...times].sort((a, b) => b - a))
}

describe(`run logs (${TEST_DB})`, () => {
  beforeAll(async () => {
    await createWorkflow(
      server,
      manual('logs-talk', [
        {
          id: 'first',
          uses: 'code.run',
          with: {
            code: "console.log('one'); console.warn('two', { n: 2 }); console.error('three'); return 1",
          },
        },
        {
          id: 'second',
          uses: 'code.run',
          needs: ['first'],
          with: { code: "console.info('four'); console.log('five'); return 2" },
        },
      ]),
    )
  })

  it('gives the console lines of code.run oldest first, each with its step id', async () => {
    const run = await runToEnd(server, 'logs-talk')
    expect(run.status).toBe('succeeded')
    const page = await getJson<Page<LogLineBody>>(server, `/api/v1/runs/${run.id}/logs`)
    expect(page.nextCursor).toBeNull()
    const lines = page.items.filter((l) => l.stepId === 'first' || l.stepId === 'second')
    expect(lines.map((l) => [l.stepId, l.level, l.msg])).toEqual([
      ['first', 'info', 'one'],
      ['first', 'warn', 'two {"n":2}'],
      ['first', 'error', 'three'],
      ['second', 'info', 'four'],
      ['second', 'info', 'five'],
    ])
    for (const line of page.items) expect(line.ts).toMatch(ISO)
    const times = page.items.map((l) => Date.parse(l.ts))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    const paged: LogLineBody[] = []
    let cursor: string | null = null
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2'
      const next: Page<LogLineBody> = await getJson(server, `/api/v1/runs/${run.id}/logs${query}`)
      paged.push(...next.items)
      cursor = next.nextCursor
    } while (cursor)
    expect(paged).toEqual(page.items)
  })

  it('answers 404 for the logs of an unknown run and 400 for a bad limit', async () => {
    await expectError(await server.request('/api/v1/runs/no-such-run/logs'), 404, 'NOT_FOUND')
    const run = await runToEnd(server, 'logs-talk')
    await expectError(await server.request(`/api/v1/runs/${run.id}/logs?limit=0`), 400, 'VALIDATION')
  })

  it.each([
    ['garbage', 'not-a-cursor!'],
    ['an empty list', Buffer.from('[]').toString('base64url')],
    ['a list of the wrong type', Buffer.from('["x"]').toString('base64url')],
  ])('answers 400 for a log cursor it did not give out: %s', async (_what, cursor) => {
    const run = await runToEnd(server, 'logs-talk')
    const res = await server.request(`/api/v1/runs/${run.id}/logs?cursor=${encodeURIComponent(cursor)}`)
    await expectError(res, 400, 'VALIDATION')
  })
})

interface LogLineBody {
  ts: string
  level: string
  stepId: string | null
  msg: string
  data: unknown
}

describe(`cancelling runs (${TEST_DB})`, () => {
  it('cancels a run waiting on a long flow.delay', async () => {
    await createWorkflow(
      server,
      manual('cancel-me', [
        { id: 'long', uses: 'flow.delay', with: { for: '10m' } },
        setValue('never', 1, ['long']),
      ]),
    )
    const { id } = await startRun(server, 'cancel-me')
    await waitForStatus(server, id, 'waiting')
    const res = await server.request(`/api/v1/runs/${id}/cancel`, { method: 'POST' })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toMatchObject({ id, status: 'cancelled' })
    const run = await getJson<RunBody>(server, `/api/v1/runs/${id}`)
    expect(run.status).toBe('cancelled')
    expect(run.finishedAt).toMatch(ISO)
    expect(run.steps.find((s) => s.id === 'long')?.status).toBe('cancelled')
    expect(run.steps.find((s) => s.id === 'never')?.status).not.toBe('succeeded')
  })

  it('answers 409 for a run that has ended and 404 for an unknown one', async () => {
    await createWorkflow(server, manual('cancel-late', [setValue('a', 1)]))
    const run = await runToEnd(server, 'cancel-late')
    await expectError(
      await server.request(`/api/v1/runs/${run.id}/cancel`, { method: 'POST' }),
      409,
      'CONFLICT',
    )
    expect((await getJson<RunBody>(server, `/api/v1/runs/${run.id}`)).status).toBe('succeeded')
    await expectError(await server.request('/api/v1/runs/no-such-run/cancel', { method: 'POST' }), 404)
  })
})

describe(`retrying runs (${TEST_DB})`, () => {
  let upstream: Server
  let base: string
  const calls = { count: 0, flaky: 0 }
  let healthy = false

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      if (req.url === '/count') {
        calls.count += 1
        res.end(JSON.stringify({ calls: calls.count }))
      } else if (req.url === '/flaky') {
        calls.flaky += 1
        res.statusCode = healthy ? 200 : 500
        res.end(JSON.stringify({ ok: healthy }))
      } else {
        res.statusCode = 404
        res.end('{}')
      }
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    await new Promise((resolve) => upstream?.close(resolve))
  })

  it('goes on from the failed step; the steps that succeeded are not run again', async () => {
    await createWorkflow(
      server,
      manual('retry-me', [
        { id: 'first', uses: 'http.request', with: { url: `${base}/count` } },
        { id: 'flaky', uses: 'http.request', needs: ['first'], with: { url: `${base}/flaky` } },
        setValue('done', '{{ steps.first.output.body.calls }}/{{ steps.flaky.output.body.ok }}', ['flaky']),
      ]),
    )
    const failedRun = await runToEnd(server, 'retry-me')
    expect(failedRun).toMatchObject({ status: 'failed', error: { code: 'HTTP_500', stepId: 'flaky' } })
    expect(calls).toEqual({ count: 1, flaky: 1 })

    healthy = true
    const res = await server.request(`/api/v1/runs/${failedRun.id}/retry`, { method: 'POST' })
    expect(res.status, await res.clone().text()).toBe(202)
    expect(await res.json()).toMatchObject({ id: failedRun.id })
    const run = await waitForRun(server, failedRun.id)
    expect(run).toMatchObject({ id: failedRun.id, status: 'succeeded', output: '1/true', error: null })
    expect(calls).toEqual({ count: 1, flaky: 2 })
    const steps = Object.fromEntries(run.steps.map((s) => [s.id, s]))
    expect(steps.first).toMatchObject({ status: 'succeeded', attempts: 1, output: { body: { calls: 1 } } })
    expect(steps.flaky).toMatchObject({ status: 'succeeded', error: null })
    expect(steps.done).toMatchObject({ status: 'succeeded', output: '1/true' })
  })

  it('answers 409 for a run that did not fail and 404 for an unknown one', async () => {
    await createWorkflow(server, manual('retry-fine', [setValue('a', 1)]))
    const run = await runToEnd(server, 'retry-fine')
    await expectError(
      await server.request(`/api/v1/runs/${run.id}/retry`, { method: 'POST' }),
      409,
      'CONFLICT',
    )
    await expectError(await server.request('/api/v1/runs/no-such-run/retry', { method: 'POST' }), 404)
  })
})

describe(`error answers (${TEST_DB})`, () => {
  const cases: [string, string, RequestInit & { json?: unknown }, number][] = [
    ['unknown route', '/nowhere', {}, 404],
    ['unknown workflow', '/api/v1/workflows/nowhere', {}, 404],
    ['unknown run', '/api/v1/runs/nowhere', {}, 404],
    ['unknown run events', '/api/v1/runs/nowhere/events', {}, 404],
    ['bad query', '/api/v1/runs?limit=none', {}, 400],
    ['invalid definition', '/api/v1/workflows', { json: { id: 'Not A Slug' } }, 400],
    [
      'malformed JSON',
      '/api/v1/workflows',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' },
      400,
    ],
    [
      'unsupported type',
      '/api/v1/workflows',
      { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' },
      415,
    ],
  ]
  it.each(cases)('answers %s in the shape {error:{code,message}}', async (_what, path, init, status) => {
    await expectError(await server.request(path, init), status)
  })

  it('never answered with a 500 during this file', () => {
    expect(server.output()).not.toMatch(/unexpected error/)
  })
})
