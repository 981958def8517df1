// The planted-secret test: keys configured for the AI Orchestrator and for a careless piece, and
// named secrets (of the configuration and stored through the API) used through `$secret` and
// `http.request`'s `auth`, reach the services that need them, and appear in no run record, step
// output, log line, API answer or database row, even when the service or the piece echoes them back.
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cases.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort } from '../http/server.js'
import { type ServeChild, spawnServe, tempDir, writeFile } from '../triggers/helpers.js'
import { EchoServer } from './echo-server.js'
import { ModelGateway } from './model-gateway.js'

const AI_KEY = 'sk-planted-9f3b7c1e5a2d4680'
const LEAKY_TOKEN = 'tok-planted-"quoted"\\slash-77'
const jsonEscape = (text: string) => JSON.stringify(text).slice(1, -1)
/** Named secrets: one from the configuration (`${VAR}`), two stored through the API. */
const CONFIG_SECRET = 'cfg-planted-"q"\\4c8e1a9f27'
const STORED_TOKEN = 'stored-planted-b7d2e94a61'
const BASIC_PAIR = 'planted-user:pw-planted-3f9a1c'
const base64 = (text: string) => Buffer.from(text).toString('base64')
const SECRETS = [
  AI_KEY,
  LEAKY_TOKEN,
  jsonEscape(LEAKY_TOKEN),
  jsonEscape(jsonEscape(LEAKY_TOKEN)),
  CONFIG_SECRET,
  jsonEscape(CONFIG_SECRET),
  encodeURIComponent(CONFIG_SECRET),
  STORED_TOKEN,
  BASIC_PAIR,
  base64(BASIC_PAIR),
]

const gateway = new ModelGateway()
const echo = new EchoServer()
let server: ServeChild
let databaseUrl: string
const answers: string[] = []

/** Every API answer the test reads is kept, to be searched at the end. */
async function api(path: string, init?: RequestInit): Promise<unknown> {
  const res = await server.request(path, init)
  const text = await res.text()
  answers.push(text)
  return text ? JSON.parse(text) : null
}

async function startRun(workflowId: string, input: unknown = {}) {
  return (await api(`/api/v1/workflows/${workflowId}/runs?wait=10s`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  })) as { id: string; status: string; output: unknown; error: unknown }
}

/** Everything the database holds, as text: every table's rows (SQLite: the files, WAL included). */
async function databaseText(): Promise<string> {
  if (TEST_DB === 'sqlite') {
    const file = databaseUrl.slice('sqlite:'.length)
    return readdirSync(dirname(file))
      .map((name) => readFileSync(join(dirname(file), name)).toString('latin1'))
      .join('\n')
  }
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const tables = await client.query<{ tablename: string }>(
      "select tablename from pg_tables where schemaname = 'public'",
    )
    const dumps = await Promise.all(
      tables.rows.map((t) => client.query(`select t::text as row from "${t.tablename}" t`)),
    )
    return dumps.flatMap((d) => d.rows.map((r: { row: string }) => r.row)).join('\n')
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  await gateway.start()
  await echo.start()
  databaseUrl = await freshDatabaseUrl()
  const port = await freePort()
  const dir = tempDir('secrets')
  writeFile(dir, 'workflows/ask.yaml', {
    id: 'ask',
    trigger: { uses: 'manual' },
    steps: [{ id: 'ask', uses: 'ai-orchestrator.chat', with: { prompt: '{{ input.prompt }}' } }],
  })
  writeFile(dir, 'workflows/spill.yaml', {
    id: 'spill',
    trigger: { uses: 'manual' },
    steps: [{ id: 'spill', uses: 'leaky.spill', with: { fail: '{{ input.fail }}' } }],
  })
  // a configured secret through `$secret`, in a header, the query and a step's own output
  writeFile(dir, 'workflows/call-config.yaml', {
    id: 'call-config',
    trigger: { uses: 'manual' },
    steps: [
      {
        id: 'call',
        uses: 'http.request',
        with: {
          url: `${echo.url}/config`,
          headers: { 'x-token': "{{ $secret('planted-config') }}" },
          query: { key: "{{ $secret('planted-config') }}" },
        },
      },
      { id: 'keep', uses: 'data.set', with: { value: "token {{ $secret('planted-config') }}" } },
    ],
  }) // the values come from the environment through ${VAR}, as a deployment would set them
  const config = writeFile(
    dir,
    'piecework.yaml',
    [
      `server: { port: ${port} }`,
      `database: { url: '${databaseUrl}' }`,
      `workflows: { dir: '${join(dir, 'workflows')}' }`,
      'services:',
      `  aiOrchestrator: { baseUrl: "\${AI_URL}", apiKey: "\${AI_KEY}" }`,
      'credentials:',
      `  leaky: { token: "\${LEAKY_TOKEN}" }`,
      `pieces: ['${join(ROOT, 'test/fixtures/pieces/leaky')}']`,
      'secrets:',
      `  key: "\${SECRETS_KEY}"`,
      `  values: { planted-config: "\${PLANTED_CONFIG}" }`,
      'log: { level: debug }',
    ].join('\n'),
  )
  server = await spawnServe(
    ['--config', config],
    {
      AI_URL: gateway.url,
      AI_KEY,
      LEAKY_TOKEN,
      PLANTED_CONFIG: CONFIG_SECRET,
      SECRETS_KEY: randomBytes(32).toString('base64'),
      PIECEWORK_LOG_LEVEL: 'debug',
    },
    port,
  )
}, 60_000)

afterAll(async () => {
  await server?.stop()
  await gateway.stop()
  await echo.stop()
})

async function put(path: string, body: unknown, method = 'PUT') {
  const res = await server.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  answers.push(await res.text())
  return res.status
}

/** An `http.request` step to the echo service, authenticated with a stored secret. */
const authCall = (id: string, auth: Record<string, string>, query = '') => ({
  id,
  trigger: { uses: 'manual' },
  steps: [{ id: 'call', uses: 'http.request', with: { url: `${echo.url}/${id}${query}`, auth } }],
})

describe(`a planted secret (${TEST_DB})`, () => {
  it('reaches the AI Orchestrator as the bearer key', async () => {
    const run = await startRun('ask', { prompt: 'hello' })
    expect(run).toMatchObject({ status: 'succeeded', output: { text: 'echo: hello' } })
    expect(gateway.requests.at(-1)?.headers.authorization).toBe(`Bearer ${AI_KEY}`)
  })

  it('is scrubbed from an answer and an error that echo it', async () => {
    gateway.answer({ content: `your key is ${AI_KEY}, keep it safe` })
    const echoed = await startRun('ask', { prompt: 'what is my key?' })
    expect(echoed.status).toBe('succeeded')
    expect((echoed.output as { text: string }).text).toBe('your key is [redacted], keep it safe')

    gateway.answer({ status: 401, body: { error: { message: `Incorrect API key provided: ${AI_KEY}` } } })
    const refused = await startRun('ask', { prompt: 'again' })
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'HTTP_401' } })
    expect(JSON.stringify(refused.error)).toContain('Incorrect API key provided: [redacted]')
  })

  it('is scrubbed from what a careless piece logs, returns and throws', async () => {
    const returned = await startRun('spill', { fail: false })
    expect(returned.output).toEqual({ token: '[redacted]', quoted: '{"token":"[redacted]"}' })
    const thrown = await startRun('spill', { fail: true })
    expect(thrown).toMatchObject({
      status: 'failed',
      error: { code: 'LEAK', details: { token: '[redacted]' } },
    })
    const logs = (await api(`/api/v1/runs/${returned.id}/logs`)) as { items: { msg: string }[] }
    expect(logs.items.map((l) => l.msg)).toContain('using token [redacted]')
  })

  it('reaches a service through $secret and is scrubbed from what it echoes', async () => {
    const run = await startRun('call-config')
    expect(run.status).toBe('succeeded')
    const seen = echo.requests.at(-1)!
    expect(seen.headers['x-token']).toBe(CONFIG_SECRET)
    expect(new URL(seen.url, echo.url).searchParams.get('key')).toBe(CONFIG_SECRET)
    const text = JSON.stringify(run.output)
    expect(text).toContain('[redacted]')
    for (const secret of SECRETS) expect(text).not.toContain(secret)
  })

  it('reaches a service through http.request auth (bearer, basic, header), scrubbed from its echo', async () => {
    expect(await put('/api/v1/secrets/stored-token', { value: STORED_TOKEN })).toBe(201)
    expect(await put('/api/v1/secrets/basic-pair', { value: BASIC_PAIR })).toBe(201)
    const flows = [
      authCall('bearer', { secret: 'stored-token', type: 'bearer' }),
      authCall('basic', { secret: 'basic-pair', type: 'basic' }),
      authCall('header', { secret: 'stored-token', type: 'header', header: 'x-api-key' }),
      authCall('refused', { secret: 'stored-token' }, '?status=401'),
    ]
    for (const flow of flows) expect(await put('/api/v1/workflows', flow, 'POST')).toBe(201)

    const bearer = await startRun('bearer')
    expect(echo.requests.at(-1)!.headers.authorization).toBe(`Bearer ${STORED_TOKEN}`)
    expect(bearer.output).toMatchObject({
      status: 200,
      body: { headers: { authorization: 'Bearer [redacted]' } },
    })
    const basic = await startRun('basic')
    expect(echo.requests.at(-1)!.headers.authorization).toBe(`Basic ${base64(BASIC_PAIR)}`)
    expect(basic.output).toMatchObject({ body: { headers: { authorization: 'Basic [redacted]' } } })
    await startRun('header')
    expect(echo.requests.at(-1)!.headers['x-api-key']).toBe(STORED_TOKEN)
    const refused = await startRun('refused')
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'HTTP_401' } })
    expect(JSON.stringify(refused.error)).toContain('Bearer [redacted]')
    await api('/api/v1/secrets')
  })

  it('appears in no API answer, no run record and no log line', async () => {
    const runs = (await api('/api/v1/runs?limit=100')) as { items: { id: string }[] }
    for (const run of runs.items) {
      await api(`/api/v1/runs/${run.id}`)
      await api(`/api/v1/runs/${run.id}/logs`)
    }
    const pieces = (await api('/api/v1/pieces')) as { items: { name: string; auth: unknown }[] }
    expect(pieces.items.find((p) => p.name === 'ai-orchestrator')?.auth).toMatchObject({
      type: 'apiKey',
      configKey: 'services.aiOrchestrator',
      configured: true,
    })
    expect(pieces.items.find((p) => p.name === 'leaky')?.auth).toMatchObject({
      type: 'bearer',
      configured: true,
    })
    await api('/api/v1/workflows')
    await api('/openapi.json')
    await server.stop()

    const places = {
      'API answers': answers.join('\n'),
      'the log': server.output(),
      'the database': await databaseText(),
    }
    expect(places['the log']).toContain('using token [redacted]')
    for (const [where, text] of Object.entries(places)) {
      for (const secret of SECRETS) expect(text.includes(secret), `${where} holds ${secret}`).toBe(false)
    }
  })
})
