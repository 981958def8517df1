// Named secrets through the API and in runs, in process (`app.request()`) on a real database:
// write-only routes, sealed rows, key rotation, deploy-time checks of names written out, and
// `$secret` values scrubbed from whatever a run keeps.
import { randomBytes } from 'node:crypto'
import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.js'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { expectError } from './expect-error.js'

const KEY = randomBytes(32).toString('base64')
const STORED = 'stored-planted-5b1e9c3d7a'
const CONFIGURED = 'config-planted-8e2f4a6c1b'

let databaseUrl: string
let engine: Engine
let app: Hono

function open(secrets: NonNullable<Parameters<typeof Engine.open>[0]['secrets']>) {
  return Engine.open({ databaseUrl, threads: 1, secrets })
}

function request(path: string, method = 'GET', json?: unknown) {
  return app.request(path, {
    method,
    headers: json === undefined ? {} : { 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  })
}

const workflow = (id: string, steps: unknown[], output?: unknown) => ({
  id,
  trigger: { uses: 'manual' },
  steps,
  ...(output === undefined ? {} : { output }),
})

async function runToEnd(id: string, input: unknown = {}) {
  const res = await request(`/api/v1/workflows/${id}/runs?wait=10s`, 'POST', { input })
  expect(res.status).toBe(200)
  return (await res.json()) as {
    id: string
    status: string
    output: unknown
    error: unknown
    steps: unknown[]
  }
}

beforeAll(async () => {
  databaseUrl = await freshDatabaseUrl()
  engine = await open({ key: KEY, values: { 'config-token': CONFIGURED } })
  await engine.start()
  app = createApp(engine, { apiKeys: [], bodyLimit: 1024 * 1024 })
})

afterAll(async () => {
  await engine?.close(1000)
})

describe(`the secrets API (${TEST_DB})`, () => {
  it('stores a value (201), replaces it (200), and never answers with it', async () => {
    const created = await request('/api/v1/secrets/api-token', 'PUT', { value: 'first-value-123' })
    expect(created.status).toBe(201)
    const body = await created.text()
    expect(JSON.parse(body)).toMatchObject({
      name: 'api-token',
      source: 'api',
      createdAt: expect.any(String),
    })
    expect(body).not.toContain('first-value')
    const replaced = await request('/api/v1/secrets/api-token', 'PUT', { value: STORED })
    expect(replaced.status).toBe(200)
    expect(await replaced.text()).not.toContain(STORED)
  })

  it('lists names and sources only', async () => {
    const res = await request('/api/v1/secrets')
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(JSON.parse(text)).toEqual({
      items: [
        { name: 'api-token', source: 'api', createdAt: expect.any(String), updatedAt: expect.any(String) },
        { name: 'config-token', source: 'config', createdAt: null, updatedAt: null },
      ],
      nextCursor: null,
    })
    expect(text).not.toContain(STORED)
    expect(text).not.toContain(CONFIGURED)
  })

  it('deletes a stored secret (204), then answers 404 for it', async () => {
    expect((await request('/api/v1/secrets/short-lived', 'PUT', { value: 'gone-soon' })).status).toBe(201)
    expect((await request('/api/v1/secrets/short-lived', 'DELETE')).status).toBe(204)
    await expectError(await request('/api/v1/secrets/short-lived', 'DELETE'), 404, 'NOT_FOUND')
  })

  it('answers bad input with a 400 that names what is wrong, without echoing the value', async () => {
    const badName = await expectError(
      await request('/api/v1/secrets/-bad name', 'PUT', { value: 'abcdefgh' }),
      400,
      'VALIDATION',
    )
    expect(badName.error.message).toContain('secret name')
    const short = await expectError(await request('/api/v1/secrets/pin', 'PUT', { value: 'a1' }), 400)
    expect(JSON.stringify(short)).toContain('at least 4 characters')
    const typo = await expectError(await request('/api/v1/secrets/x', 'PUT', { valeu: 'typo-value' }), 400)
    expect(JSON.stringify(typo)).toContain('value')
    const number = await expectError(await request('/api/v1/secrets/x', 'PUT', { value: 987654321 }), 400)
    expect(JSON.stringify(number)).not.toContain('987654321')
  })

  it('refuses to change a secret of the configuration (409)', async () => {
    const put = await expectError(
      await request('/api/v1/secrets/config-token', 'PUT', { value: 'other-value' }),
      409,
      'CONFLICT',
    )
    expect(put.error.message).toContain('secrets.values.config-token')
    await expectError(await request('/api/v1/secrets/config-token', 'DELETE'), 409, 'CONFLICT')
  })

  it('keeps only sealed values in the database', async () => {
    const rows = (await engine.db.knex('secrets').select('*')) as Record<string, unknown>[]
    expect(rows.map((r) => r.name)).toEqual(['api-token'])
    expect(JSON.stringify(rows)).not.toContain(STORED)
    expect(JSON.stringify(rows)).not.toContain(Buffer.from(STORED).toString('base64'))
  })
})

describe(`$secret in runs (${TEST_DB})`, () => {
  it('resolves a stored and a configured secret when the step runs, and scrubs them from outputs', async () => {
    const deployed = await request(
      '/api/v1/workflows',
      'POST',
      workflow(
        'uses-secrets',
        [
          {
            id: 'both',
            uses: 'data.set',
            with: {
              value: { header: "Bearer {{ $secret('api-token') }}", other: "{{ $secret('config-token') }}" },
            },
          },
          {
            id: 'length',
            uses: 'data.set',
            needs: ['both'],
            with: { value: "{{ $length($secret('api-token')) }}" },
          },
        ],
        {
          both: '{{ steps.both.output }}',
          length: '{{ steps.length.output }}',
          raw: "{{ $secret('api-token') }}",
        },
      ),
    )
    expect(deployed.status).toBe(201)
    const run = await runToEnd('uses-secrets')
    expect(run.status).toBe('succeeded')
    expect(run.output).toEqual({
      both: { header: 'Bearer [redacted]', other: '[redacted]' },
      length: STORED.length,
      raw: '[redacted]',
    })
    const again = await (await request(`/api/v1/runs/${run.id}`)).text()
    expect(again).not.toContain(STORED)
    expect(again).not.toContain(CONFIGURED)
  })

  it('reads a secret when the step is dispatched: a run waiting meanwhile gets the value set since', async () => {
    expect((await request('/api/v1/secrets/rotating', 'PUT', { value: 'old-value' })).status).toBe(201)
    const deployed = await request(
      '/api/v1/workflows',
      'POST',
      workflow('reads-late', [
        { id: 'pause', uses: 'flow.delay', with: { for: '400ms' } },
        {
          id: 'len',
          uses: 'data.set',
          needs: ['pause'],
          with: { value: "{{ $length($secret('rotating')) }}" },
        },
      ]),
    )
    expect(deployed.status).toBe(201)
    const started = await request('/api/v1/workflows/reads-late/runs', 'POST', { input: {} })
    const { id } = (await started.json()) as { id: string }
    expect((await request('/api/v1/secrets/rotating', 'PUT', { value: 'the-newer-value' })).status).toBe(200)
    const run = (await (await request(`/api/v1/runs/${id}?wait=10s`)).json()) as {
      status: string
      output: unknown
    }
    expect(run).toMatchObject({ status: 'succeeded', output: 'the-newer-value'.length })
  })

  it('refuses at deploy time a secret name written out that is not defined, naming where', async () => {
    const res = await request(
      '/api/v1/workflows',
      'POST',
      workflow('unknown-secrets', [
        { id: 'a', uses: 'data.set', with: { value: "{{ $secret('no-such-secret') }}" } },
        {
          id: 'b',
          uses: 'http.request',
          with: { url: 'http://127.0.0.1:1/', auth: { secret: 'nor-this-one', type: 'bearer' } },
        },
        { id: 'c', uses: 'data.set', with: { value: 'Bearer {{ secrets.api-token }}' } },
      ]),
    )
    const body = await expectError(res, 400, 'VALIDATION')
    expect(body.error.details).toEqual(
      expect.arrayContaining([
        {
          path: 'steps[0].with.value',
          message: expect.stringContaining("secret 'no-such-secret' is not defined"),
        },
        { path: 'steps[1].with.auth.secret', message: expect.stringContaining("secret 'nor-this-one'") },
        {
          path: 'steps[2].with.value',
          message: "secrets.api-token is not a variable: write $secret('api-token')",
        },
      ]),
    )
  })

  it('fails the step with SECRET_NOT_FOUND when a computed name is not defined', async () => {
    const deployed = await request(
      '/api/v1/workflows',
      'POST',
      workflow('computed-secret', [
        { id: 'read', uses: 'data.set', with: { value: '{{ $secret(input.name) }}' } },
      ]),
    )
    expect(deployed.status).toBe(201)
    const run = await runToEnd('computed-secret', { name: 'not-there' })
    expect(run).toMatchObject({
      status: 'failed',
      error: { code: 'SECRET_NOT_FOUND', stepId: 'read', message: expect.stringContaining("'not-there'") },
    })
  })

  it('fails a forEach item with SECRET_NOT_FOUND, and scrubs the items that read one', async () => {
    const deployed = await request(
      '/api/v1/workflows',
      'POST',
      workflow('secret-items', [
        {
          id: 'each',
          uses: 'data.set',
          forEach: '{{ input.names }}',
          with: { value: '{{ $secret(item) }}' },
        },
      ]),
    )
    expect(deployed.status).toBe(201)
    const good = await runToEnd('secret-items', { names: ['api-token', 'config-token'] })
    expect(good).toMatchObject({ status: 'succeeded', output: ['[redacted]', '[redacted]'] })
    const bad = await runToEnd('secret-items', { names: ['api-token', 'missing-one'] })
    expect(bad.status).toBe('failed')
    expect(bad.error).toMatchObject({
      code: 'SECRET_NOT_FOUND',
      stepId: 'each',
      message: expect.stringContaining('item 1: expression "$secret(item)" failed: secret \'missing-one\''),
    })
    expect(JSON.stringify(bad)).not.toContain(STORED)
  })

  it('scrubs a secret an expression error quotes', async () => {
    await request(
      '/api/v1/workflows',
      'POST',
      workflow('quoted-secret', [
        { id: 'cast', uses: 'data.set', with: { value: "{{ $number($secret('api-token')) }}" } },
      ]),
    )
    const run = await runToEnd('quoted-secret')
    expect(run.status).toBe('failed')
    expect(JSON.stringify(run)).not.toContain(STORED)
    expect(JSON.stringify(run.error)).toContain('[redacted]')
  })
})

describe.runIf(TEST_DB === 'postgres')('secrets shared by two processes (postgres)', () => {
  it('a secret stored through one engine is deployable and readable through the other at once', async () => {
    const other = await open({ key: KEY, values: { 'config-token': CONFIGURED } })
    try {
      await other.start()
      const otherApp = createApp(other, { apiKeys: [], bodyLimit: 1024 * 1024 })
      await other.secrets.list()
      const put = await request('/api/v1/secrets/shared-token', 'PUT', { value: 'shared-value-77' })
      expect(put.status).toBe(201)
      const deployed = await otherApp.request('/api/v1/workflows', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          workflow('shared', [
            { id: 'len', uses: 'data.set', with: { value: "{{ $length($secret('shared-token')) }}" } },
          ]),
        ),
      })
      expect(deployed.status).toBe(201)
      const run = await other.runOnce(
        workflow('shared-once', [
          { id: 'v', uses: 'data.set', with: { value: "{{ $secret('shared-token') }}" } },
        ]),
        {},
      )
      expect(run).toMatchObject({ status: 'succeeded', output: '[redacted]' })
    } finally {
      await other.close(1000)
    }
  })
})

describe(`key rotation (${TEST_DB})`, () => {
  it('refuses to start when a stored secret was sealed with a key not configured', async () => {
    await engine.close(1000)
    const other = randomBytes(32).toString('hex')
    await expect(open({ key: other })).rejects.toMatchObject({
      code: 'SECRET_UNREADABLE',
      message: expect.stringMatching(/'api-token' .* neither secrets.key nor in secrets.previousKeys/),
    })
  })

  it('seals stored secrets again under the new key, the old one given as previous', async () => {
    const next = randomBytes(32).toString('hex')
    engine = await open({ key: next, previousKeys: [KEY], values: { 'config-token': CONFIGURED } })
    // every stored secret (one more on PostgreSQL, stored through the second engine)
    const stored = (await engine.secrets.list()).filter((s) => s.source === 'api')
    expect(engine.secretsResealed).toBe(stored.length)
    expect(stored.length).toBeGreaterThan(0)
    await engine.close(1000)
    // the old key is no longer needed
    engine = await open({ key: next, values: { 'config-token': CONFIGURED } })
    expect(engine.secretsResealed).toBe(0)
    expect(await engine.secrets.resolve('api-token')).toBe(STORED)
  })

  it('rejects a key that is not 32 bytes, naming the setting', async () => {
    await expect(open({ key: 'too-short' })).rejects.toThrow(/secrets.key must be a 32-byte key/)
  })
})
