// `piecework secrets list | set | delete` through the compiled bin against a real `piecework serve`
// with an API key and a secrets key: values go in on standard input or from the environment, come
// back in no output, and reach a run that names them.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { BIN, childEnv, freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'

const KEY = 'remote-cli-secrets-test-key'
const VALUE = 'cli-planted-9d41c7e2b8'
const dir = mkdtempSync(join(tmpdir(), 'piecework-secrets-cli-'))
let server: ServeProcess

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** The bin against the test server, `stdin` written to it (and closed). */
function piecework(args: string[], stdin = '', env: Record<string, string> = {}): Promise<Result> {
  const child = spawn('node', [BIN, ...args], {
    cwd: dir,
    env: childEnv({ PIECEWORK_SERVER_URL: server.url, PIECEWORK_API_KEY: KEY, ...env }),
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  child.stdin.end(stdin)
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })))
}

beforeAll(async () => {
  const port = await freePort()
  server = new ServeProcess(port, {
    ...serveEnv(port, await freshDatabaseUrl()),
    PIECEWORK_AUTH_API_KEYS: KEY,
    PIECEWORK_SECRETS_KEY: randomBytes(32).toString('base64'),
  })
  await server.start()
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

describe(`piecework secrets (${TEST_DB})`, () => {
  it('stores a value read from standard input, then replaces it from an environment variable', async () => {
    const stored = await piecework(['secrets', 'set', 'api-token'], `${VALUE}\n`)
    expect(stored, stored.stderr).toMatchObject({ code: 0, stdout: 'stored api-token\n' })
    const replaced = await piecework(
      ['secrets', 'set', 'api-token', '--from-env', 'TOKEN', '-o', 'json'],
      '',
      {
        TOKEN: `${VALUE}-2`,
      },
    )
    expect(replaced.code, replaced.stderr).toBe(0)
    expect(JSON.parse(replaced.stdout)).toMatchObject({ name: 'api-token', source: 'api' })
    expect(replaced.stdout).not.toContain(VALUE)
  })

  it('lists names and sources, never values', async () => {
    const listed = await piecework(['secrets', 'list'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(/^NAME\s+SOURCE\s+UPDATED\napi-token\s+api\s+\d{4}-/)
    expect(listed.stdout).not.toContain(VALUE)
  })

  it('reaches a run through $secret, scrubbed from what the run shows', async () => {
    const res = await fetch(`${server.url}/api/v1/workflows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'uses-token',
        trigger: { uses: 'manual' },
        steps: [{ id: 'len', uses: 'data.set', with: { value: "{{ $length($secret('api-token')) }}" } }],
      }),
    })
    expect(res.status).toBe(201)
    const run = await piecework(['start', 'uses-token', '--wait', '10s', '-o', 'json'])
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'succeeded', output: VALUE.length + 2 })
  })

  it('answers mistakes with exit 2 and a message that names them', async () => {
    const noEnv = await piecework(['secrets', 'set', 'x-token', '--from-env', 'NOT_SET_ANYWHERE'])
    expect(noEnv).toMatchObject({ code: 2, stderr: expect.stringContaining('NOT_SET_ANYWHERE') })
    const short = await piecework(['secrets', 'set', 'x-token'], 'ab')
    expect(short).toMatchObject({ code: 2, stderr: expect.stringContaining('at least 4 characters') })
    const badName = await piecework(['secrets', 'set', 'bad name!'], 'abcdef')
    expect(badName).toMatchObject({ code: 2, stderr: expect.stringContaining('secret name') })
    const missing = await piecework(['secrets', 'delete', 'never-stored'])
    expect(missing).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("'never-stored' does not exist"),
    })
  })

  it('piecework run uses the secrets of the configuration file, and names one it lacks', async () => {
    writeFileSync(
      join(dir, 'local.yaml'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the configuration's own `${VAR}`
      stringify({ secrets: { values: { 'local-token': '${LOCAL_TOKEN}' } } }),
    )
    writeFileSync(
      join(dir, 'local-run.yaml'),
      stringify({
        id: 'local-run',
        trigger: { uses: 'manual' },
        steps: [{ id: 'len', uses: 'data.set', with: { value: "{{ $length($secret('local-token')) }}" } }],
      }),
    )
    const ran = await piecework(['run', 'local-run.yaml', '--config', 'local.yaml'], '', {
      LOCAL_TOKEN: VALUE,
    })
    expect(ran.code, ran.stderr).toBe(0)
    expect(JSON.parse(ran.stdout)).toMatchObject({ status: 'succeeded', output: VALUE.length })
    expect(ran.stdout + ran.stderr).not.toContain(VALUE)
    const unset = await piecework(['run', 'local-run.yaml', '--config', 'local.yaml'])
    expect(unset).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("secret 'local-token' is not defined"),
    })
  })

  it('deletes a stored secret', async () => {
    const deleted = await piecework(['secrets', 'delete', 'api-token'])
    expect(deleted).toMatchObject({ code: 0, stdout: 'deleted api-token\n' })
    expect((await piecework(['secrets', 'list'])).stdout).toBe('no secrets\n')
    await server.stop()
    expect(server.output()).not.toContain(VALUE)
  })
})
