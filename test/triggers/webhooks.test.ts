// Webhook triggers over real HTTP against a `piecework serve` child: what a request starts, how it is
// answered, signatures, methods, and how routing follows create, update, delete and the folder.
import { createHmac } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DB } from '../helpers/db.js'
import { createWorkflow, getJson, type Step } from '../http/api-client.js'
import { expectError } from '../http/expect-error.js'
import { type RunBody, startServer, startTwoServers, type TestServer, waitForRun } from '../http/server.js'
import { countRuns, sleep, tempDir, writeFile } from './helpers.js'

let server: TestServer

function webhook(
  id: string,
  hook: Record<string, unknown>,
  steps?: Step[],
  extra: Record<string, unknown> = {},
) {
  return {
    id,
    trigger: { uses: 'webhook', with: hook },
    steps: steps ?? [{ id: 'echo', uses: 'data.set', with: { value: '{{ input }}' } }],
    ...extra,
  }
}

/** A POST with headers exactly as given (names, case, repeats) and the body in these chunks. */
function rawRequest(base: string, path: string, headers: string[], chunks: string[]) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'POST', headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

const hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex')

/** Standard Webhooks headers for a body, signed now (or `ageSeconds` ago) under a `whsec_` secret. */
function standardHeaders(secret: string, id: string, body: string, ageSeconds = 0) {
  const timestamp = String(Math.floor(Date.now() / 1000) - ageSeconds)
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${mac}`,
  }
}

/** An error answer whose message says `says`. */
async function refused(res: Response, status: number, code: string, says: string) {
  const body = await expectError(res, status, code)
  expect(body.error.message).toContain(says)
}

const WHSEC = `whsec_${Buffer.from('a key of thirty-two bytes, exact').toString('base64')}`

beforeAll(async () => {
  const folder = tempDir('hook-flows')
  writeFile(
    folder,
    'from-folder.yaml',
    webhook('folder-hook', { path: 'from/folder', respond: 'onComplete' }, [
      { id: 'greet', uses: 'data.set', with: { value: { hello: '{{ input.body.name }}' } } },
    ]),
  )
  server = await startServer({ env: { PIECEWORK_WORKFLOWS_DIR: folder } })
})

afterEach(({ task }) => {
  // a dead server fails the tests after it: say why it died
  if (task.result?.state === 'fail') task.result.errors?.push({ message: server.output() } as never)
})

afterAll(async () => {
  await server?.stop()
})

describe(`webhook answers (${TEST_DB})`, () => {
  it('answers respond: immediately with 202 { id } and gives the run { method, path, headers, query, body }', async () => {
    await createWorkflow(server, webhook('hook-immediate', { path: 'orders/new', respond: 'immediately' }))
    const res = await server.request('/hooks/orders/new?source=shop&n=2', {
      json: { items: [{ sku: 'a', qty: 2 }] },
      headers: { 'X-Custom': 'yes' },
    })
    expect(res.status, await res.clone().text()).toBe(202)
    const body = (await res.json()) as { id: string }
    expect(body).toEqual({ id: expect.any(String) })

    const run = await waitForRun(server, body.id)
    expect(run).toMatchObject({ workflowId: 'hook-immediate', status: 'succeeded' })
    expect(Object.keys(run.input as object).sort()).toEqual(['body', 'headers', 'method', 'path', 'query'])
    expect(run.input).toEqual({
      method: 'POST',
      path: 'orders/new',
      headers: expect.objectContaining({ 'x-custom': 'yes', 'content-type': 'application/json' }),
      query: { source: 'shop', n: '2' },
      body: { items: [{ sku: 'a', qty: 2 }] },
    })
    // the trigger's output is what the root step got
    expect(run.output).toEqual(run.input)
  })

  it('takes the default method POST and respond immediately when the trigger names neither', async () => {
    await createWorkflow(server, webhook('hook-defaults', { path: 'defaults' }))
    const res = await server.request('/hooks/defaults', { json: { a: 1 } })
    expect(res.status, await res.clone().text()).toBe(202)
    await expectError(await server.request('/hooks/defaults'), 405)
  })

  it('answers respond: onComplete with 200 and the output of the run', async () => {
    await createWorkflow(
      server,
      webhook('hook-complete', { path: 'double', respond: 'onComplete' }, [
        { id: 'twice', uses: 'code.run', with: { code: 'return { doubled: input.body.n * 2 }' } },
      ]),
    )
    const res = await server.request('/hooks/double', { json: { n: 21 } })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toEqual({ doubled: 42 })
  })

  it('answers respond: onComplete with 422, the error and the run id when the run fails', async () => {
    await createWorkflow(
      server,
      webhook('hook-fails', { path: 'fails', respond: 'onComplete' }, [
        { id: 'boom', uses: 'code.run', with: { code: "throw new Error('the order is broken')" } },
      ]),
    )
    const res = await server.request('/hooks/fails', { json: { n: 1 } })
    const text = await res.text()
    expect(res.status, text).toBe(422)
    const body = JSON.parse(text) as { error: { code: string; message: string }; runId: string }
    expect(Object.keys(body).sort()).toEqual(['error', 'runId'])
    expect(body.error).toMatchObject({ code: expect.any(String), message: expect.stringContaining('broken') })

    const run = await getJson<RunBody>(server, `/api/v1/runs/${body.runId}`)
    expect(run).toMatchObject({ workflowId: 'hook-fails', status: 'failed' })
    expect(run.error).toMatchObject({ code: body.error.code, message: body.error.message })
  })

  it('gives the run the headers as sent (lower case, repeated values joined, signatures hidden) and the body whether its length is declared or chunked', async () => {
    await createWorkflow(server, webhook('hook-raw', { path: 'raw', respond: 'onComplete' }))
    const body = JSON.stringify({ order: 7, note: 'é'.repeat(3) })
    const cases: [string, string[], string[]][] = [
      // [what, raw headers as sent, chunks of the body]
      ['a declared length', ['Content-Length', String(Buffer.byteLength(body))], [body]],
      ['a chunked body', ['Transfer-Encoding', 'chunked'], [body.slice(0, 5), body.slice(5)]],
    ]
    for (const [what, framing, chunks] of cases) {
      const answer = await rawRequest(
        server.url,
        '/hooks/raw',
        [
          'Host',
          new URL(server.url).host,
          'X-Dup',
          'a',
          'Content-Type',
          'application/json',
          'x-dup',
          'b',
          'Authorization',
          'Bearer hidden',
          'X-Piecework-Signature',
          'sha256=00',
          ...framing,
        ],
        chunks,
      )
      expect(answer.status, `${what}: ${answer.text}`).toBe(200)
      const input = JSON.parse(answer.text) as { headers: Record<string, string>; body: unknown }
      expect(input.body, what).toEqual(JSON.parse(body))
      expect(input.headers, what).toMatchObject({ 'x-dup': 'a, b', 'content-type': 'application/json' })
      expect(Object.keys(input.headers), what).toEqual(Object.keys(input.headers).sort())
      expect(Object.keys(input.headers), what).not.toContain('authorization')
      expect(Object.keys(input.headers), what).not.toContain('x-piecework-signature')
    }
  })

  it('takes a GET trigger with its query and no body', async () => {
    await createWorkflow(server, webhook('hook-get', { path: 'ping', method: 'GET', respond: 'onComplete' }))
    const res = await server.request('/hooks/ping?who=me')
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toMatchObject({ method: 'GET', path: 'ping', query: { who: 'me' }, body: null })
  })
})

describe(`webhook signatures (${TEST_DB})`, () => {
  const secret = 's3cret-for-tests'

  beforeAll(async () => {
    await createWorkflow(server, webhook('hook-signed', { path: 'signed', secret }))
  })

  it('starts a run for a request signed with the HMAC-SHA256 of its raw body', async () => {
    const before = await countRuns(server, 'hook-signed')
    // odd spacing: the signature is over the bytes sent, not over a re-serialised JSON
    const raw = ' { "amount" :  10 }\n'
    const res = await server.request('/hooks/signed', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Piecework-Signature': `sha256=${hmac(secret, raw)}` },
      body: raw,
    })
    expect(res.status, await res.clone().text()).toBe(202)
    const { id } = (await res.json()) as { id: string }
    const run = await waitForRun(server, id)
    expect(run).toMatchObject({ status: 'succeeded', input: { body: { amount: 10 } } })
    expect(await countRuns(server, 'hook-signed')).toBe(before + 1)
  })

  it('answers 401 to a wrong signature and starts nothing', async () => {
    const before = await countRuns(server, 'hook-signed')
    const raw = JSON.stringify({ amount: 10 })
    for (const signature of [
      `sha256=${hmac('another-secret', raw)}`,
      `sha256=${hmac(secret, JSON.stringify({ amount: 11 }))}`,
      `sha256=${'0'.repeat(64)}`,
      `sha256=${hmac(secret, raw).toUpperCase()}`,
      hmac(secret, raw),
      'sha256=not-hex',
    ]) {
      const res = await server.request('/hooks/signed', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Piecework-Signature': signature },
        body: raw,
      })
      await expectError(res, 401, 'UNAUTHORIZED')
    }
    expect(await countRuns(server, 'hook-signed')).toBe(before)
  })

  it('answers 401 to a request without a signature and starts nothing', async () => {
    const before = await countRuns(server, 'hook-signed')
    await expectError(await server.request('/hooks/signed', { json: { amount: 10 } }), 401, 'UNAUTHORIZED')
    await expectError(await server.request('/hooks/signed', { method: 'POST' }), 401, 'UNAUTHORIZED')
    expect(await countRuns(server, 'hook-signed')).toBe(before)
  })
})

describe(`Standard Webhooks signatures (${TEST_DB})`, () => {
  beforeAll(async () => {
    await createWorkflow(server, webhook('hook-standard', { path: 'standard', secret: WHSEC }))
  })

  const send = (headers: Record<string, string>, body: string) =>
    server.request('/hooks/standard', { method: 'POST', headers, body })

  it('starts a run for a request signed over id, timestamp and body, and hides the signature from it', async () => {
    const body = JSON.stringify({ order: 1 })
    const res = await send(standardHeaders(WHSEC, 'msg_start', body), body)
    expect(res.status, await res.clone().text()).toBe(202)
    const run = await waitForRun(server, ((await res.json()) as { id: string }).id)
    expect(run).toMatchObject({ status: 'succeeded', input: { body: { order: 1 } } })
    const seen = (run.input as { headers: Record<string, string> }).headers
    expect(seen).toMatchObject({ 'webhook-id': 'msg_start', 'webhook-timestamp': expect.any(String) })
    expect(seen['webhook-signature']).toBeUndefined()
  })

  it('refuses the same request sent again with 409 and starts nothing', async () => {
    const body = JSON.stringify({ order: 2 })
    const headers = standardHeaders(WHSEC, 'msg_replayed', body)
    expect((await send(headers, body)).status).toBe(202)
    const before = await countRuns(server, 'hook-standard')
    await refused(await send(headers, body), 409, 'CONFLICT', "webhook-id 'msg_replayed' was taken already")
    // a new timestamp and signature for the same id is a replay too
    await expectError(await send(standardHeaders(WHSEC, 'msg_replayed', body, 1), body), 409, 'CONFLICT')
    expect(await countRuns(server, 'hook-standard')).toBe(before)
  })

  it('answers 401 naming the tolerance to a request signed longer ago than 5 minutes', async () => {
    const body = JSON.stringify({ order: 3 })
    const before = await countRuns(server, 'hook-standard')
    const res = await send(standardHeaders(WHSEC, 'msg_stale', body, 301), body)
    await refused(res, 401, 'UNAUTHORIZED', 'outside the tolerance of 300 s')
    expect(await countRuns(server, 'hook-standard')).toBe(before)
  })

  it('answers 401 to a wrong signature, a changed body or a missing header, and starts nothing', async () => {
    const body = JSON.stringify({ order: 4 })
    const before = await countRuns(server, 'hook-standard')
    const good = standardHeaders(WHSEC, 'msg_wrong', body)
    const other = `whsec_${Buffer.from('another key of thirty-two bytes!').toString('base64')}`
    for (const [headers, sent, reason] of [
      [standardHeaders(other, 'msg_wrong', body), body, 'wrong webhook-signature'],
      [good, JSON.stringify({ order: 5 }), 'wrong webhook-signature'],
      [{ ...good, 'webhook-id': '' }, body, 'needs webhook-id'],
      [{ ...good, 'webhook-timestamp': 'now' }, body, 'webhook-timestamp is not a number of seconds'],
    ] as const) {
      await refused(await send(headers, sent), 401, 'UNAUTHORIZED', reason)
    }
    // the id of a refused request was not remembered: signed right, it is taken
    expect((await send(good, body)).status).toBe(202)
    expect(await countRuns(server, 'hook-standard')).toBe(before + 1)
  })

  it('does not take up an id when the request is refused for its body', async () => {
    const headers = standardHeaders(WHSEC, 'msg_bad_body', '{not json')
    await expectError(await send(headers, '{not json'), 400, 'BAD_REQUEST')
    const body = JSON.stringify({ mended: true })
    expect((await send(standardHeaders(WHSEC, 'msg_bad_body', body), body)).status).toBe(202)
  })
})

describe(`webhook routing (${TEST_DB})`, () => {
  it('answers a method other than the trigger’s with 405 and starts nothing', async () => {
    await createWorkflow(server, webhook('hook-post-only', { path: 'post-only', method: 'POST' }))
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      await expectError(await server.request('/hooks/post-only', { method }), 405, 'METHOD_NOT_ALLOWED')
    }
    expect(await countRuns(server, 'hook-post-only')).toBe(0)
  })

  it('names the method it takes in an Allow header with the 405', async () => {
    await createWorkflow(server, webhook('hook-allow', { path: 'allow-header', method: 'PUT' }))
    const res = await server.request('/hooks/allow-header', { method: 'POST' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('PUT')
  })

  it('answers a path no workflow listens on with 404', async () => {
    await expectError(await server.request('/hooks/nobody/listens', { json: {} }), 404, 'NOT_FOUND')
    await expectError(await server.request('/hooks', { json: {} }), 404, 'NOT_FOUND')
  })

  it('refuses a second workflow claiming a path with 409 at create time', async () => {
    await createWorkflow(server, webhook('hook-owner', { path: 'team/claimed' }))
    const res = await server.request('/api/v1/workflows', {
      json: webhook('hook-thief', { path: 'team/claimed', method: 'PUT' }),
    })
    const body = await expectError(res, 409, 'CONFLICT')
    expect(body.error.message).toContain('hook-owner')
    // the same path written with a trailing slash is the same path
    await expectError(
      await server.request('/api/v1/workflows', { json: webhook('hook-thief', { path: 'team/claimed/' }) }),
      409,
      'CONFLICT',
    )
    await expectError(await server.request('/api/v1/workflows/hook-thief'), 404)
    const started = await server.request('/hooks/team/claimed', { json: {} })
    expect(started.status).toBe(202)
    const { id } = (await started.json()) as { id: string }
    expect((await getJson<RunBody>(server, `/api/v1/runs/${id}`)).workflowId).toBe('hook-owner')
  })

  it('routes a path from the moment its create answered', async () => {
    for (let i = 0; i < 8; i++) {
      await createWorkflow(server, webhook(`hook-fresh-${i}`, { path: `fresh/${i}` }))
      const res = await server.request(`/hooks/fresh/${i}`, { json: { i } })
      expect(res.status, `fresh/${i}: ${await res.clone().text()}`).toBe(202)
    }
  })

  it('answers 404 on the path of a deleted workflow, and keeps its runs readable', async () => {
    await createWorkflow(server, webhook('hook-deleted', { path: 'soon-gone' }))
    const res = await server.request('/hooks/soon-gone', { json: {} })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as { id: string }
    await waitForRun(server, id)

    expect((await server.request('/api/v1/workflows/hook-deleted', { method: 'DELETE' })).status).toBe(204)
    await expectError(await server.request('/hooks/soon-gone', { json: {} }), 404, 'NOT_FOUND')
    expect((await getJson<RunBody>(server, `/api/v1/runs/${id}`)).status).toBe('succeeded')
  })

  it('moves the route when PUT changes the path: the old one is 404, the new one starts version 2', async () => {
    await createWorkflow(server, webhook('hook-moved', { path: 'old/place' }))
    expect((await server.request('/hooks/old/place', { json: {} })).status).toBe(202)

    const res = await server.request('/api/v1/workflows/hook-moved', {
      method: 'PUT',
      json: webhook('hook-moved', { path: 'new/place' }),
    })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toMatchObject({ version: 2 })

    await expectError(await server.request('/hooks/old/place', { json: {} }), 404, 'NOT_FOUND')
    const moved = await server.request('/hooks/new/place', { json: { where: 'new' } })
    expect(moved.status, await moved.clone().text()).toBe(202)
    const run = await waitForRun(server, ((await moved.json()) as { id: string }).id)
    expect(run).toMatchObject({
      workflowId: 'hook-moved',
      workflowVersion: 2,
      status: 'succeeded',
      input: { path: 'new/place', body: { where: 'new' } },
    })
  })

  it('lets the old path go to another workflow once PUT has moved it', async () => {
    await createWorkflow(server, webhook('hook-leaver', { path: 'vacated' }))
    const put = await server.request('/api/v1/workflows/hook-leaver', {
      method: 'PUT',
      json: webhook('hook-leaver', { path: 'elsewhere' }),
    })
    expect(put.status, await put.clone().text()).toBe(200)
    await createWorkflow(server, webhook('hook-taker', { path: 'vacated' }))
    const res = await server.request('/hooks/vacated', { json: {} })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as { id: string }
    expect((await getJson<RunBody>(server, `/api/v1/runs/${id}`)).workflowId).toBe('hook-taker')
  })

  it('routes the webhook workflows of the workflows folder from the start', async () => {
    const res = await server.request('/hooks/from/folder', { json: { name: 'Ada' } })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toEqual({ hello: 'Ada' })
    expect(await countRuns(server, 'folder-hook')).toBe(1)
  })
})

describe(`webhooks on several processes (${TEST_DB})`, () => {
  it.skipIf(TEST_DB !== 'postgres')(
    'routes a webhook created through one process on another process of the same database',
    async () => {
      const [first, second] = await startTwoServers()
      try {
        await createWorkflow(first, webhook('hook-shared', { path: 'shared' }))
        await sleep(500)
        const res = await second.request('/hooks/shared', { json: { via: 'second' } })
        expect(res.status, await res.clone().text()).toBe(202)
      } finally {
        await Promise.all([first.stop(), second.stop()])
      }
    },
  )
})

describe(`Standard Webhooks across processes and settings (${TEST_DB})`, () => {
  it.skipIf(TEST_DB !== 'postgres')(
    'refuses on one process a request another process of the same database took',
    async () => {
      const [first, second] = await startTwoServers()
      try {
        await createWorkflow(
          first,
          webhook('hook-standard-shared', { path: 'standard-shared', secret: WHSEC }),
        )
        await sleep(500)
        const body = JSON.stringify({ via: 'first' })
        const headers = standardHeaders(WHSEC, 'msg_shared', body)
        const taken = await first.request('/hooks/standard-shared', { method: 'POST', headers, body })
        expect(taken.status, await taken.clone().text()).toBe(202)
        const replayed = await second.request('/hooks/standard-shared', { method: 'POST', headers, body })
        await expectError(replayed, 409, 'CONFLICT')
        expect(await countRuns(first, 'hook-standard-shared')).toBe(1)
      } finally {
        await Promise.all([first.stop(), second.stop()])
      }
    },
  )

  it('takes its tolerance from webhooks.tolerance', async () => {
    const strict = await startServer({ env: { PIECEWORK_WEBHOOKS_TOLERANCE: '2s' } })
    try {
      await createWorkflow(strict, webhook('hook-strict', { path: 'strict', secret: WHSEC }))
      const body = '{}'
      const post = (headers: Record<string, string>) =>
        strict.request('/hooks/strict', { method: 'POST', headers, body })
      const old = await post(standardHeaders(WHSEC, 'msg_old', body, 10))
      await refused(old, 401, 'UNAUTHORIZED', 'outside the tolerance of 2 s')
      expect((await post(standardHeaders(WHSEC, 'msg_fresh', body))).status).toBe(202)
    } finally {
      await strict.stop()
    }
  })
})

describe(`webhooks with API keys configured (${TEST_DB})`, () => {
  it('takes hook requests without an API key while /api needs one', async () => {
    const key = 'a-key-of-at-least-16-chars'
    const keyed = await startServer({ env: { PIECEWORK_AUTH_API_KEYS: key } })
    try {
      const auth = { authorization: `Bearer ${key}` }
      const created = await keyed.request('/api/v1/workflows', {
        json: webhook('hook-keyed', { path: 'keyed', respond: 'onComplete' }),
        headers: auth,
      })
      expect(created.status, await created.clone().text()).toBe(201)
      await expectError(await keyed.request('/api/v1/workflows/hook-keyed'), 401)
      const res = await keyed.request('/hooks/keyed', { json: { open: true } })
      expect(res.status, await res.clone().text()).toBe(200)
      expect(await res.json()).toMatchObject({ body: { open: true } })
    } finally {
      await keyed.stop()
    }
  })
})
