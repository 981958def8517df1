// The http.request piece through a real engine, against a local node:http server on 127.0.0.1.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ValidationError } from '../../src/errors.js'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { expectFailed, runOk, type StepOptions, step, stepOf, workflow } from './workflows.js'

interface Seen {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
}

let engine: Engine
let server: Server
let base: string
const seen: Seen[] = []
const hits = new Map<string, number>()

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type })
  res.end(body)
}

function route(req: IncomingMessage, res: ServerResponse, body: string) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  const json = (status: number, value: unknown) =>
    send(res, status, 'application/json', JSON.stringify(value))
  const [, first, key = ''] = url.pathname.split('/')
  switch (first) {
    case 'json':
      return json(200, { query: [...url.searchParams] })
    case 'echo':
      return json(201, {
        method: req.method,
        contentType: req.headers['content-type'] ?? null,
        custom: req.headers['x-custom'] ?? null,
        body,
      })
    case 'text':
      return send(res, 200, 'text/plain; charset=utf-8', 'plain hello')
    case 'missing':
      return json(404, { error: 'no such thing' })
    case 'flaky': {
      // /flaky/<key>/<failures>: 503 for the first <failures> hits of <key>, then 200
      const count = (hits.get(key) ?? 0) + 1
      hits.set(key, count)
      const failures = Number(url.pathname.split('/')[3] ?? 2)
      return count <= failures ? send(res, 503, 'text/plain', 'busy') : json(200, { hits: count })
    }
    case 'slow': {
      const timer = setTimeout(() => json(200, { late: true }), 5_000)
      res.on('close', () => clearTimeout(timer))
      return
    }
    default:
      return json(200, { ok: true })
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body })
      route(req, res, body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 2 })
})

afterAll(async () => {
  await engine?.close()
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve))
})

beforeEach(() => {
  seen.length = 0
})

/** A workflow of one http.request step named `fetch`. */
function request(props: Record<string, unknown>, options: StepOptions = {}) {
  return workflow('http', [step('fetch', 'http.request', props, options)])
}

function seenAt(path: string): Seen[] {
  return seen.filter((s) => s.path.startsWith(path))
}

describe(`http.request against a local server (${TEST_DB})`, () => {
  it('GETs JSON with query params added to those already in the URL', async () => {
    const run = await runOk(
      engine,
      request({ url: `${base}/json?fixed=1`, query: { q: 'piece work', n: 2, tag: ['a', 'b'], flag: true } }),
    )
    expect(run.output).toMatchObject({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: {
        query: [
          ['fixed', '1'],
          ['q', 'piece work'],
          ['n', '2'],
          ['tag', 'a'],
          ['tag', 'b'],
          ['flag', 'true'],
        ],
      },
    })
    expect(seenAt('/json')).toHaveLength(1)
    expect(seenAt('/json')[0]?.method).toBe('GET')
  })

  it('POSTs an object body as JSON with its content type, and the next step reads the answer', async () => {
    const run = await runOk(
      engine,
      workflow('http-post', [
        step('fetch', 'http.request', {
          method: 'POST',
          url: `${base}/echo`,
          headers: { 'x-custom': 'abc' },
          body: '{{ input.order }}',
        }),
        step(
          'pick',
          'data.set',
          { value: '{{ steps.fetch.output.body.method & " " & input.status }}' },
          {
            needs: ['fetch'],
          },
        ),
      ]),
      { order: { id: 7, items: [{ sku: 'a', qty: 2 }] } },
    )
    const fetched = stepOf(run, 'fetch').output as { status: number; body: { body: string } }
    expect(fetched).toMatchObject({
      status: 201,
      body: { method: 'POST', contentType: 'application/json', custom: 'abc' },
    })
    expect(JSON.parse(fetched.body.body)).toEqual({ id: 7, items: [{ sku: 'a', qty: 2 }] })
    expect(run.output).toBe('POST 201')
  })

  it('sends a string body as it is, with the content type given', async () => {
    const run = await runOk(
      engine,
      request({
        method: 'PUT',
        url: `${base}/echo`,
        headers: { 'content-type': 'text/plain' },
        body: 'just text',
      }),
    )
    expect(run.output).toMatchObject({
      status: 201,
      body: { method: 'PUT', contentType: 'text/plain', body: 'just text' },
    })
  })

  it('delivers a text response as a string', async () => {
    const run = await runOk(engine, request({ url: `${base}/text` }))
    expect(run.output).toMatchObject({ status: 200, body: 'plain hello' })
  })

  it('keeps a JSON response as text with responseType text', async () => {
    const run = await runOk(engine, request({ url: `${base}/json?a=1`, responseType: 'text' }))
    expect(run.output).toMatchObject({ status: 200, body: '{"query":[["a","1"]]}' })
  })

  it('fails a text response with responseType json', async () => {
    const run = await engine.runOnce(request({ url: `${base}/text`, responseType: 'json' }), {})
    expectFailed(run, 'fetch', 'HTTP_INVALID_JSON')
  })

  it('fails a 404 with HTTP_404 and does not retry it', async () => {
    const run = await engine.runOnce(
      request({ url: `${base}/missing` }, { retry: { attempts: 3, delay: '10ms' } }),
      {},
    )
    const error = expectFailed(run, 'fetch', 'HTTP_404') as { details?: unknown }
    expect(error.details).toMatchObject({ status: 404, body: { error: 'no such thing' } })
    expect(stepOf(run, 'fetch').attempts).toBe(1)
    expect(seenAt('/missing')).toHaveLength(1)
  })

  it('delivers the 404 with failOnStatus false', async () => {
    const run = await runOk(engine, request({ url: `${base}/missing`, failOnStatus: false }))
    expect(run.output).toMatchObject({ status: 404, body: { error: 'no such thing' } })
  })

  it('retries a 503 and succeeds on the third attempt', async () => {
    const run = await runOk(
      engine,
      request({ url: `${base}/flaky/retry-ok/2` }, { retry: { attempts: 3, delay: '10ms' } }),
    )
    expect(run.output).toMatchObject({ status: 200, body: { hits: 3 } })
    expect(stepOf(run, 'fetch').attempts).toBe(3)
    expect(seenAt('/flaky/retry-ok')).toHaveLength(3)
  })

  it('fails with HTTP_503 once the attempts are spent', async () => {
    const run = await engine.runOnce(
      request({ url: `${base}/flaky/retry-spent/99` }, { retry: { attempts: 2, delay: '10ms' } }),
      {},
    )
    expectFailed(run, 'fetch', 'HTTP_503')
    expect(stepOf(run, 'fetch').attempts).toBe(2)
    expect(seenAt('/flaky/retry-spent')).toHaveLength(2)
  })

  it('sends Idempotency-Key <runId>:<stepId>, the same on every attempt', async () => {
    const run = await runOk(
      engine,
      request({ url: `${base}/flaky/idem/1`, idempotent: true }, { retry: { attempts: 3, delay: '10ms' } }),
    )
    const keys = seenAt('/flaky/idem').map((s) => s.headers['idempotency-key'])
    expect(keys).toEqual([`${run.id}:fetch`, `${run.id}:fetch`])
  })

  it('sends no Idempotency-Key unless asked', async () => {
    await runOk(engine, request({ url: `${base}/plain` }))
    expect(seenAt('/plain')[0]?.headers['idempotency-key']).toBeUndefined()
  })

  it('fails a slow answer with TIMEOUT at the step timeout', async () => {
    const started = Date.now()
    const run = await engine.runOnce(request({ url: `${base}/slow` }, { timeout: '300ms' }), {})
    const elapsed = Date.now() - started
    expectFailed(run, 'fetch', 'TIMEOUT')
    expect(elapsed).toBeLessThan(3_000)
    await runOk(engine, request({ url: `${base}/plain` }))
  })

  it('fails an unreachable server with NETWORK', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const run = await engine.runOnce(request({ url: `http://127.0.0.1:${port}/` }), {})
    expectFailed(run, 'fetch', 'NETWORK')
  })

  describe('bad props', () => {
    it('rejects a url that is not a URL before anything runs', async () => {
      const error = await engine.runOnce(request({ url: 'not a url' }), {}).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).problems).toEqual([
        expect.objectContaining({ path: 'steps[0].with.url' }),
      ])
    })

    it('rejects an unknown method before anything runs', async () => {
      const error = await engine
        .runOnce(request({ url: `${base}/plain`, method: 'FETCH' }), {})
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      expect(JSON.stringify((error as ValidationError).problems)).toContain('steps[0].with.method')
    })

    it('fails with INVALID_PROPS when an expression resolves to a url that is not a URL', async () => {
      const run = await engine.runOnce(request({ url: '{{ input.url }}' }), { url: 'not a url' })
      expect(expectFailed(run, 'fetch', 'INVALID_PROPS').message).toMatch(/url/)
      expect(stepOf(run, 'fetch').attempts).toBe(1)
    })

    it('fails with INVALID_PROPS for a URL that is not http(s)', async () => {
      const run = await engine.runOnce(request({ url: 'ftp://127.0.0.1/file' }), {})
      expect(expectFailed(run, 'fetch', 'INVALID_PROPS').message).toMatch(/ftp/)
    })
  })
})
