// Client mistakes found from outside, each answered with a 4xx in the error shape and never a 500, a
// hang or a crash, and none of them changing what was stored before: YAML alias bombs, nesting
// thousands deep, empty and null definitions, NUL in ids and values, forged cursors, waits too long.
// Through `app.request()` in process, on SQLite and on PostgreSQL (PIECEWORK_TEST_DB=postgres).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DB } from '../helpers/db.js'
import { expectError } from './expect-error.js'
import { type InProcessApi, openInProcessApi } from './in-process.js'
import type { RunBody } from './server.js'

let api: InProcessApi

beforeAll(async () => {
  api = await openInProcessApi()
  const created = await api.request('/api/v1/workflows', { json: echo('mistakes', 'v1') })
  expect(created.status, await created.clone().text()).toBe(201)
})

afterAll(async () => {
  await api?.close()
})

afterEach(() => {
  // a client's mistake is never reported as a fault of the server
  expect(api.unexpected.map(String)).toEqual([])
})

function echo(id: string, tag: string) {
  return {
    id,
    trigger: { uses: 'manual' },
    steps: [{ id: 'echo', uses: 'data.set', with: { value: { tag, input: '{{ input }}' } } }],
  }
}

const send = (method: string, path: string, body: string, type = 'application/json') =>
  api.request(path, method === 'GET' ? { method } : { method, headers: { 'content-type': type }, body })

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** `depth` arrays, one inside the other, as JSON text. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

async function currentVersion(id: string): Promise<{ version: number; definition: unknown }> {
  const res = await api.request(`/api/v1/workflows/${id}`)
  expect(res.status).toBe(200)
  return (await res.json()) as { version: number; definition: unknown }
}

async function runCount(workflowId: string): Promise<number> {
  const res = await api.request(`/api/v1/runs?workflowId=${workflowId}&limit=500`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { items: unknown[] }).items.length
}

const BILLION_LAUGHS = `
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
id: mistakes
trigger: { uses: manual }
steps: [{ id: echo, uses: data.set, with: { value: *g } }]
`

describe(`YAML definitions that expand without end (${TEST_DB})`, () => {
  it('answers a billion-laughs definition with 400 on POST and PUT and keeps the stored version', async () => {
    const before = await currentVersion('mistakes')
    for (const [method, path] of [
      ['POST', '/api/v1/workflows'],
      ['PUT', '/api/v1/workflows/mistakes'],
    ] as const) {
      const body = await expectError(
        await send(method, path, BILLION_LAUGHS, 'application/yaml'),
        400,
        'VALIDATION',
      )
      expect(body.error.message).toMatch(/aliases too many times/)
    }
    expect(await currentVersion('mistakes')).toEqual(before)
  })

  it('answers aliases that expand to over a million values with 400', async () => {
    // 99 aliases pass yaml's own guard (maxAliasCount 100): 99 copies of 10,200 values do not pass ours
    const big = `[${Array.from({ length: 10_200 }, () => '0').join(', ')}]`
    const yaml = `id: wide\ntrigger: { uses: manual }\nbig: &big ${big}\nsteps: [{ id: a, uses: data.set, with: { value: [${Array.from({ length: 99 }, () => '*big').join(', ')}] } }]\n`
    const body = await expectError(
      await send('POST', '/api/v1/workflows', yaml, 'application/yaml'),
      400,
      'VALIDATION',
    )
    expect(body.error.message).toMatch(/more than 1000000 values/)
    await expectError(await api.request('/api/v1/workflows/wide'), 404, 'NOT_FOUND')
  })

  it('answers a definition that holds itself through an alias with 400 naming where', async () => {
    const yaml =
      'trigger: { uses: manual }\nsteps: [{ id: echo, uses: data.set, with: &loop { value: [*loop] } }]\n'
    const body = await expectError(
      await send('PUT', '/api/v1/workflows/mistakes', yaml, 'application/yaml'),
      400,
    )
    expect(body.error.details).toEqual([
      { path: 'steps[0].with.value[0]', message: expect.stringMatching(/refers to itself/) },
    ])
  })

  it('still takes anchors and aliases used a few times', async () => {
    const yaml = `id: anchors\ntrigger: { uses: manual }\nsteps:\n  - { id: a, uses: data.set, with: &w { value: { n: 1 } } }\n  - { id: b, uses: data.set, needs: a, with: *w }\n`
    const res = await send('POST', '/api/v1/workflows', yaml, 'application/yaml')
    expect(res.status, await res.clone().text()).toBe(201)
  })
})

describe(`values nested thousands deep (${TEST_DB})`, () => {
  it('answers run input nested 10,000 deep with 400 naming the path, and starts no run', async () => {
    const runs = await runCount('mistakes')
    const res = await send('POST', '/api/v1/workflows/mistakes/runs', `{"input":${nested(10_000)}}`)
    const body = await expectError(res, 400, 'VALIDATION')
    expect(body.error.message).toBe('the request body is nested deeper than 100 levels')
    expect(body.error.details?.[0]?.path).toMatch(/^input\[0\]\[0\]/)
    expect(await runCount('mistakes')).toBe(runs)
  })

  it('takes a body nested exactly 100 levels and refuses 101', async () => {
    // the body is level 1, `input` level 2
    const ok = await send('POST', '/api/v1/workflows/mistakes/runs?wait=10s', `{"input":${nested(99)}}`)
    expect(ok.status, await ok.clone().text()).toBe(200)
    expect(((await ok.json()) as RunBody).status).toBe('succeeded')
    await expectError(await send('POST', '/api/v1/workflows/mistakes/runs', `{"input":${nested(100)}}`), 400)
  })

  it("answers a definition whose step's `with` nests 10,000 deep with 400, as JSON and as YAML", async () => {
    const before = await currentVersion('mistakes')
    const json = JSON.stringify(echo('mistakes', 'deep')).replace('"tag":"deep"', `"tag":${nested(10_000)}`)
    const yaml = `trigger: { uses: manual }\nsteps: [{ id: echo, uses: data.set, with: { value: ${nested(10_000)} } }]\n`
    for (const [method, path] of [
      ['POST', '/api/v1/workflows'],
      ['PUT', '/api/v1/workflows/mistakes'],
    ] as const) {
      const fromJson = await expectError(await send(method, path, json), 400, 'VALIDATION')
      expect(fromJson.error.details?.[0]?.path).toMatch(/^steps\[0\]\.with\.value\.tag\[0\]/)
      const fromYaml = await expectError(
        await send(method, path, yaml, 'application/yaml'),
        400,
        'VALIDATION',
      )
      expect(fromYaml.error.message).toMatch(/nested deeper than 100 levels/)
    }
    // deep enough for the parser to manage, too deep for the limit
    const yaml150 = `trigger: { uses: manual }\nsteps: [{ id: echo, uses: data.set, with: { value: ${nested(150)} } }]\n`
    const body = await expectError(
      await send('PUT', '/api/v1/workflows/mistakes', yaml150, 'application/yaml'),
      400,
    )
    expect(body.error.details?.[0]?.path).toMatch(/^steps\[0\]\.with\.value\[0\]/)
    expect(await currentVersion('mistakes')).toEqual(before)
  })

  it('answers a webhook body nested 10,000 deep with 400 and starts no run', async () => {
    const hook = {
      id: 'deep-hook',
      trigger: { uses: 'webhook', with: { path: 'deep' } },
      steps: [{ id: 'echo', uses: 'data.set', with: { value: '{{ input.body }}' } }],
    }
    expect((await api.request('/api/v1/workflows', { json: hook })).status).toBe(201)
    const body = await expectError(await send('POST', '/hooks/deep', nested(10_000)), 400, 'VALIDATION')
    expect(body.error.details?.[0]?.path).toMatch(/^body\[0\]/)
    expect(await runCount('deep-hook')).toBe(0)
  })
})

describe(`PUT /api/v1/workflows/:id without a definition (${TEST_DB})`, () => {
  it.each([
    ['null', 'null', 'application/json'],
    ['an empty body', '', 'application/json'],
    ['an empty YAML body', '', 'application/yaml'],
    ['YAML null', '~', 'application/yaml'],
    ['an array', '[]', 'application/json'],
    ['a number', '5', 'application/json'],
  ])('answers %s with 400 and keeps the stored version', async (_what, text, type) => {
    const before = await currentVersion('mistakes')
    const body = await expectError(
      await send('PUT', '/api/v1/workflows/mistakes', text, type),
      400,
      'VALIDATION',
    )
    expect(body.error.details).toEqual([{ path: '$', message: expect.stringMatching(/^must be an object/) }])
    expect(await currentVersion('mistakes')).toEqual(before)
  })

  it('answers POST with null or an empty body with 400', async () => {
    await expectError(await send('POST', '/api/v1/workflows', 'null'), 400, 'VALIDATION')
    await expectError(await send('POST', '/api/v1/workflows', ''), 400, 'VALIDATION')
  })
})

describe(`NUL in ids, queries and values (${TEST_DB})`, () => {
  it.each([
    ['GET', '/api/v1/workflows/mistakes%00x'],
    ['PUT', '/api/v1/workflows/mistakes%00'],
    ['DELETE', '/api/v1/workflows/mistakes%00'],
    ['POST', '/api/v1/workflows/mistakes%00/runs'],
    ['GET', '/api/v1/runs/r%00'],
    ['GET', '/api/v1/runs/r%00/logs'],
    ['GET', '/api/v1/runs/r%00/events'],
    ['POST', '/api/v1/runs/r%00/cancel'],
    ['POST', '/api/v1/runs/r%00/retry'],
  ])('answers %s %s with 400 naming the path', async (method, path) => {
    const body = await expectError(await send(method, path, '{}'), 400, 'VALIDATION')
    expect(body.error.details).toEqual([{ path: 'path', message: expect.stringMatching(/NUL/) }])
  })

  it('answers NUL in a query value with 400 naming the parameter', async () => {
    const list = await expectError(
      await api.request('/api/v1/runs?workflowId=mistakes%00'),
      400,
      'VALIDATION',
    )
    expect(list.error.details).toEqual([{ path: 'query.workflowId', message: expect.stringMatching(/NUL/) }])
    const version = await expectError(await api.request('/api/v1/workflows/mistakes?version=1%00'), 400)
    expect(version.error.details?.[0]?.path).toBe('query.version')
    await expectError(await api.request('/api/v1/runs?cursor=%00'), 400, 'VALIDATION')
  })

  it('answers NUL in run input, in a string or in a key, with 400 naming the path, and starts no run', async () => {
    const runs = await runCount('mistakes')
    const inString = await expectError(
      await send('POST', '/api/v1/workflows/mistakes/runs', '{"input":{"list":["ok","a\\u0000b"]}}'),
      400,
      'VALIDATION',
    )
    expect(inString.error.details).toEqual([{ path: 'input.list[1]', message: expect.stringMatching(/NUL/) }])
    const inKey = await expectError(
      await send('POST', '/api/v1/workflows/mistakes/runs', '{"input":{"a\\u0000":1}}'),
      400,
    )
    expect(inKey.error.details?.[0]?.path).toBe('input["a\\u0000"]')
    expect(await runCount('mistakes')).toBe(runs)
  })

  it('answers NUL in a definition (its name among others) with 400 and keeps the stored version', async () => {
    const before = await currentVersion('mistakes')
    const named = { ...echo('mistakes', 'x'), name: 'a\u0000b' }
    const body = await expectError(
      await api.request('/api/v1/workflows/mistakes', { method: 'PUT', json: named }),
      400,
      'VALIDATION',
    )
    expect(body.error.details).toEqual([{ path: 'name', message: expect.stringMatching(/NUL/) }])
    const yaml =
      'id: nul-yaml\nname: "a\\0b"\ntrigger: { uses: manual }\nsteps: [{ id: a, uses: data.set }]\n'
    await expectError(await send('POST', '/api/v1/workflows', yaml, 'application/yaml'), 400, 'VALIDATION')
    expect(await currentVersion('mistakes')).toEqual(before)
  })

  it('answers a name longer than its column (255 characters) with 400 on both databases', async () => {
    const body = await expectError(
      await api.request('/api/v1/workflows', { json: { ...echo('long-name', 'x'), name: 'n'.repeat(256) } }),
      400,
      'VALIDATION',
    )
    expect(body.error.details).toEqual([{ path: 'name', message: 'must be at most 255 characters' }])
    const fits = await api.request('/api/v1/workflows', {
      json: { ...echo('long-name', 'x'), name: 'n'.repeat(255) },
    })
    expect(fits.status, await fits.clone().text()).toBe(201)
  })

  it('answers NUL in a webhook query or body with 400 naming it, and starts no run', async () => {
    const hook = {
      id: 'nul-hook',
      trigger: { uses: 'webhook', with: { path: 'nul' } },
      steps: [{ id: 'echo', uses: 'data.set', with: { value: '{{ input }}' } }],
    }
    expect((await api.request('/api/v1/workflows', { json: hook })).status).toBe(201)
    const query = await expectError(await send('POST', '/hooks/nul?who=a%00b', '{}'), 400, 'VALIDATION')
    expect(query.error.details?.[0]?.path).toBe('query.who')
    const json = await expectError(await send('POST', '/hooks/nul', '{"name":"a\\u0000"}'), 400, 'VALIDATION')
    expect(json.error.details?.[0]?.path).toBe('body.name')
    await expectError(await send('POST', '/hooks/nul', 'a\u0000b', 'text/plain'), 400, 'VALIDATION')
    await expectError(await send('POST', '/hooks/nul%00', '{}'), 404, 'NOT_FOUND')
    expect(await runCount('nul-hook')).toBe(0)
  })
})

describe(`cursors the server did not give out (${TEST_DB})`, () => {
  let runId: string

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const res = await api.request('/api/v1/workflows/mistakes/runs?wait=10s', { json: { input: { i } } })
      expect(res.status).toBe(200)
      runId = ((await res.json()) as RunBody).id
    }
  })

  it.each([
    ['a time out of range', b64([1e308, 'x'])],
    ['a fraction', b64([0.5, 'x'])],
    ['a negative time', b64([-1, 'x'])],
    ['a time beyond 2^53', b64([2 ** 60, 'x'])],
    ['NUL in the id', b64([1, 'a\u0000'])],
    ['the parts swapped', b64(['x', 1])],
    ['one part', b64([1])],
    ['an object', b64({ at: 1 })],
    ['not base64', '!!!not-base64!!!'],
    ['base64 of no JSON', Buffer.from('garbage').toString('base64url')],
  ])('answers a run-list cursor with %s with 400', async (_what, cursor) => {
    const body = await expectError(await api.request(`/api/v1/runs?cursor=${cursor}`), 400, 'VALIDATION')
    expect(body.error.details).toEqual([{ path: 'cursor', message: 'invalid cursor' }])
  })

  it.each([
    ['a fraction', b64([0.5])],
    ['an id out of range', b64([1e308])],
    ['an id beyond the integer column', b64([3_000_000_000])],
    ['a negative id', b64([-1])],
    ['text', b64(['x'])],
    ['two parts', b64([1, 2])],
    ['not base64', '%%%'],
  ])('answers a log cursor with %s with 400', async (_what, cursor) => {
    await expectError(await api.request(`/api/v1/runs/${runId}/logs?cursor=${cursor}`), 400, 'VALIDATION')
  })

  it('still pages with the cursors it gives out', async () => {
    const first = (await (await api.request('/api/v1/runs?workflowId=mistakes&limit=1')).json()) as {
      items: { id: string }[]
      nextCursor: string
    }
    const second = await api.request(`/api/v1/runs?workflowId=mistakes&limit=1&cursor=${first.nextCursor}`)
    expect(second.status).toBe(200)
    const page = (await second.json()) as { items: { id: string }[] }
    expect(page.items).toHaveLength(1)
    expect(page.items[0]!.id).not.toBe(first.items[0]!.id)
  })

  it('answers a version beyond the column with 400', async () => {
    await expectError(await api.request('/api/v1/workflows/mistakes?version=99999999999999999999'), 400)
    await expectError(await api.request('/api/v1/workflows/mistakes?version=2147483647'), 404, 'NOT_FOUND')
  })
})

describe(`?wait= beyond 5 minutes (${TEST_DB})`, () => {
  it.each(['3000000000', '300001', '301s', '6m', '1d', '9'.repeat(400)])(
    'answers ?wait=%s with 400 naming the limit, and starts no run',
    async (wait) => {
      const runs = await runCount('mistakes')
      const res = await api.request(`/api/v1/workflows/mistakes/runs?wait=${wait}`, { json: {} })
      const body = await expectError(res, 400, 'VALIDATION')
      expect(body.error.details?.[0]).toMatchObject({ path: 'wait' })
      expect(await runCount('mistakes')).toBe(runs)
    },
  )

  it('takes ?wait= of exactly 5 minutes and answers once the run ends', async () => {
    for (const wait of ['300000', '5m']) {
      const res = await api.request(`/api/v1/workflows/mistakes/runs?wait=${wait}`, { json: {} })
      expect(res.status, await res.clone().text()).toBe(200)
    }
  })
})

describe(`webhooks answering onComplete for a run that did not succeed (${TEST_DB})`, () => {
  beforeAll(async () => {
    const failing = {
      id: 'failing-hook',
      trigger: { uses: 'webhook', with: { path: 'failing', respond: 'onComplete' } },
      steps: [
        { id: 'boom', uses: 'flow.fail', with: { code: 'ORDER_BROKEN', message: 'the order is broken' } },
      ],
    }
    const slow = {
      id: 'slow-hook',
      trigger: { uses: 'webhook', with: { path: 'slow', respond: 'onComplete' } },
      steps: [{ id: 'pause', uses: 'flow.delay', with: { for: '1m' } }],
    }
    for (const hook of [failing, slow])
      expect((await api.request('/api/v1/workflows', { json: hook })).status).toBe(201)
  })

  it('answers a failed run with 422, its error and its id', async () => {
    const res = await send('POST', '/hooks/failing', '{"n":1}')
    const text = await res.text()
    expect(res.status, text).toBe(422)
    const body = JSON.parse(text) as {
      error: { code: string; message: string; stepId: string }
      runId: string
    }
    expect(body).toEqual({
      error: { code: 'ORDER_BROKEN', message: 'the order is broken', stepId: 'boom' },
      runId: expect.any(String),
    })
    const run = (await (await api.request(`/api/v1/runs/${body.runId}`)).json()) as RunBody
    expect(run).toMatchObject({ workflowId: 'failing-hook', status: 'failed', error: body.error })
  })

  it('answers a run cancelled while the request waits with 422 and the CANCELLED error', async () => {
    const answer = send('POST', '/hooks/slow', '{}')
    let runId: string | undefined
    for (let i = 0; i < 100 && !runId; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      const page = (await (await api.request('/api/v1/runs?workflowId=slow-hook')).json()) as {
        items: { id: string }[]
      }
      runId = page.items[0]?.id
    }
    expect(runId).toBeDefined()
    expect((await api.request(`/api/v1/runs/${runId}/cancel`, { method: 'POST' })).status).toBe(200)
    const res = await answer
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual({
      error: { code: 'CANCELLED', message: expect.any(String) },
      runId,
    })
  })
})
