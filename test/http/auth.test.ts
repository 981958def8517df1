// API keys over real HTTP, and the refusal to listen beyond loopback without them.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { expectError } from './expect-error.js'
import { freePort, runBin, startServer, type TestServer } from './server.js'

const KEY = 'k3y-0123456789abcdef0123456789ab'
const OTHER_KEY = 'second-key-for-rotation-000000'

let server: TestServer

beforeAll(async () => {
  expect(KEY).toHaveLength(32)
  server = await startServer({ env: { PIECEWORK_AUTH_API_KEYS: `${KEY},${OTHER_KEY}` } })
})

afterAll(async () => {
  await server?.stop()
})

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

describe(`API keys (${TEST_DB})`, () => {
  it('answers /api without an Authorization header with 401', async () => {
    await expectError(await server.request('/api/v1/workflows'), 401, 'UNAUTHORIZED')
    await expectError(await server.request('/api/v1/pieces'), 401, 'UNAUTHORIZED')
    await expectError(await server.request('/api/v1/runs/anything'), 401, 'UNAUTHORIZED')
  })

  it('answers a wrong key, or a header that is not Bearer, with 401', async () => {
    await expectError(await server.request('/api/v1/workflows', { headers: bearer('not-the-key') }), 401)
    await expectError(await server.request('/api/v1/workflows', { headers: bearer(`${KEY}x`) }), 401)
    await expectError(await server.request('/api/v1/workflows', { headers: { authorization: KEY } }), 401)
    await expectError(
      await server.request('/api/v1/workflows', { headers: { authorization: `Basic ${KEY}` } }),
      401,
    )
  })

  it('answers the right key with 200, for every configured key', async () => {
    for (const key of [KEY, OTHER_KEY]) {
      const res = await server.request('/api/v1/workflows', { headers: bearer(key) })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ items: [], nextCursor: null })
    }
  })

  it('checks the key before anything else: no workflow is created without it', async () => {
    const definition = { id: 'auth-wf', trigger: { uses: 'manual' }, steps: [{ id: 'a', uses: 'data.set' }] }
    await expectError(await server.request('/api/v1/workflows', { json: definition }), 401)
    const res = await server.request('/api/v1/workflows/auth-wf', { headers: bearer(KEY) })
    await expectError(res, 404, 'NOT_FOUND')
    const created = await server.request('/api/v1/workflows', { json: definition, headers: bearer(KEY) })
    expect(created.status).toBe(201)
  })

  it('asks a key for signals sent through /api, and none for signal links, whose token decides', async () => {
    await expectError(await server.request('/api/v1/signals/approval', { json: { key: 1 } }), 401)
    await expectError(await server.request('/api/v1/runs/r/signals/approval', { json: {} }), 401)
    await expectError(await server.request('/signals/not.signed'), 403, 'FORBIDDEN')
    await expectError(await server.request('/signals/not.signed', { json: {} }), 403, 'FORBIDDEN')
  })

  it('serves /health and /ready without a key', async () => {
    const health = await server.request('/health')
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    expect((await server.request('/ready')).status).toBe(200)
  })
})

describe(`starting serve (${TEST_DB})`, () => {
  it('refuses to listen on 0.0.0.0 without API keys: exits non-zero and says why', async () => {
    const result = await runBin(['serve'], {
      PIECEWORK_DATABASE_URL: await freshDatabaseUrl(),
      PIECEWORK_SERVER_HOST: '0.0.0.0',
      PIECEWORK_SERVER_PORT: String(await freePort()),
      PIECEWORK_WORKFLOWS_DIR: mkdtempSync(join(tmpdir(), 'piecework-workflows-')),
      PIECEWORK_LOG_LEVEL: 'warn',
    })
    expect(result.code, result.output).not.toBe(0)
    expect(result.code).not.toBeNull()
    expect(result.output).toContain('0.0.0.0')
    expect(result.output).toMatch(/api ?keys/i)
  })

  it('refuses an API key shorter than 16 characters, naming the key', async () => {
    const result = await runBin(['serve'], {
      PIECEWORK_DATABASE_URL: await freshDatabaseUrl(),
      PIECEWORK_SERVER_PORT: String(await freePort()),
      PIECEWORK_AUTH_API_KEYS: 'short',
      PIECEWORK_LOG_LEVEL: 'warn',
    })
    expect(result.code, result.output).not.toBe(0)
    expect(result.output).toMatch(/auth\.apiKeys/)
  })

  it('drains and exits 0 on SIGTERM', async () => {
    const other = await startServer()
    expect(await other.stop()).toBe(0)
  })
})
