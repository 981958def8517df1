// The configuration and the workflows folder as `piecework serve` and `piecework validate` read them:
// bad keys and values stop the start naming them, ${VAR} interpolation, environment overrides,
// and how folder deployments become versions.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { getJson, type WorkflowBody } from '../http/api-client.js'
import { freePort, runBin, startServer } from '../http/server.js'
import { expectRefusal, nothingListens, spawnServe, tempDir, writeFile } from './helpers.js'

const setter = (id: string, value: unknown) => ({
  id,
  trigger: { uses: 'manual' },
  steps: [{ id: 'set', uses: 'data.set', with: { value } }],
})

/** A config file (YAML text, or an object written as YAML) in a folder of its own. */
function configFile(content: unknown): string {
  return writeFile(tempDir('config'), 'piecework.yaml', content)
}

/** `${NAME}` or `${NAME:-fallback}`, the way a config file refers to the environment. */
const ref = (name: string, fallback?: string) => `\${${name}${fallback === undefined ? '' : `:-${fallback}`}}`

describe(`bad configuration stops the start (${TEST_DB})`, () => {
  it('names an unknown key given with --config', async () => {
    const file = configFile('server:\n  port: 3000\n  colour: red\n')
    const output = expectRefusal(await runBin(['serve', '--config', file], {}))
    expect(output).toContain('server.colour')
    expect(output).toContain("unknown key 'colour'")
  })

  it('names an unknown section given through PIECEWORK_CONFIG', async () => {
    const file = configFile('server:\n  port: 3000\nqueues:\n  size: 10\n')
    const output = expectRefusal(await runBin(['serve'], { PIECEWORK_CONFIG: file }))
    expect(output).toContain("unknown key 'queues'")
  })

  it('names server.port when it is not a number', async () => {
    const file = configFile('server:\n  port: "abc"\n')
    const output = expectRefusal(await runBin(['serve', '--config', file], {}))
    expect(output).toMatch(/server\.port: .*abc/)
  })

  it('names workers.threads when it is 0', async () => {
    const file = configFile('workers:\n  threads: 0\n')
    const output = expectRefusal(await runBin(['serve', '--config', file], {}))
    expect(output).toMatch(/workers\.threads: .*0/)
  })

  it('names every bad key at once', async () => {
    const file = configFile('server:\n  port: "abc"\n  colour: red\nworkers:\n  threads: 0\n')
    const output = expectRefusal(await runBin(['serve', '--config', file], {}))
    for (const key of ['server.port', 'server.colour', 'workers.threads']) expect(output).toContain(key)
  })

  it('names an unset environment variable and the key that refers to it', async () => {
    const file = configFile({ database: { url: ref('PW_TEST_NOT_SET_ANYWHERE') } })
    const output = expectRefusal(await runBin(['serve', '--config', file], {}))
    expect(output).toContain('PW_TEST_NOT_SET_ANYWHERE')
    expect(output).toContain('database.url')
  })

  it('names a missing config file', async () => {
    const missing = join(tempDir('config'), 'nowhere.yaml')
    const output = expectRefusal(await runBin(['serve', '--config', missing], {}))
    expect(output).toContain(missing)
  })
})

describe(`configuration values and overrides (${TEST_DB})`, () => {
  it('interpolates environment variables into values', async () => {
    const flows = tempDir('flows')
    writeFile(flows, 'from-env.yaml', setter('from-env', 1))
    const port = await freePort()
    const file = configFile({
      database: { url: ref('PW_TEST_DB_URL') },
      workflows: { dir: ref('PW_TEST_FLOWS') },
      log: { level: ref('PW_TEST_LEVEL') },
    })
    const server = await spawnServe(
      ['--config', file],
      {
        PIECEWORK_SERVER_PORT: String(port),
        PW_TEST_DB_URL: await freshDatabaseUrl(),
        PW_TEST_FLOWS: flows,
        PW_TEST_LEVEL: 'warn',
      },
      port,
    )
    try {
      const res = await server.request('/api/v1/workflows/from-env')
      expect(res.status, server.output()).toBe(200)
    } finally {
      await server.stop()
    }
  })

  it('interpolates an environment variable into a numeric key such as server.port', async () => {
    const port = await freePort()
    const file = configFile(
      `server:\n  port: ${ref('PW_TEST_PORT')}\ndatabase:\n  url: ${ref('PW_TEST_DB_URL')}\n`,
    )
    const server = await spawnServe(
      ['--config', file],
      { PW_TEST_PORT: String(port), PW_TEST_DB_URL: await freshDatabaseUrl() },
      port,
    )
    await server.stop()
  })

  it('falls back to the default given with :- when the variable is unset', async () => {
    const flows = tempDir('flows')
    writeFile(flows, 'fallback.yaml', setter('fallback', 1))
    const port = await freePort()
    const file = configFile({ workflows: { dir: ref('PW_TEST_UNSET_FLOWS', flows) } })
    const server = await spawnServe(
      ['--config', file],
      { PIECEWORK_SERVER_PORT: String(port), PIECEWORK_DATABASE_URL: await freshDatabaseUrl() },
      port,
    )
    try {
      expect((await server.request('/api/v1/workflows/fallback')).status, server.output()).toBe(200)
    } finally {
      await server.stop()
    }
  })

  it('lets PIECEWORK_SERVER_PORT override server.port of the file', async () => {
    const [filePort, envPort] = [await freePort(), await freePort()]
    const file = configFile(`server:\n  port: ${filePort}\n`)
    const server = await spawnServe(
      ['--config', file],
      { PIECEWORK_SERVER_PORT: String(envPort), PIECEWORK_DATABASE_URL: await freshDatabaseUrl() },
      envPort,
    )
    try {
      expect(await nothingListens(filePort)).toBe(true)
    } finally {
      await server.stop()
    }
  })

  it('honours PORT over server.port of the file', async () => {
    const [filePort, envPort] = [await freePort(), await freePort()]
    const file = configFile(`server:\n  port: ${filePort}\n`)
    const server = await spawnServe(
      ['--config', file],
      { PORT: String(envPort), PIECEWORK_DATABASE_URL: await freshDatabaseUrl() },
      envPort,
    )
    try {
      expect(await nothingListens(filePort)).toBe(true)
    } finally {
      await server.stop()
    }
  })
})

describe(`the workflows folder at start (${TEST_DB})`, () => {
  it('stops the start listing every problem of every invalid file with its name', async () => {
    const flows = tempDir('flows')
    writeFile(flows, 'good.yaml', setter('good', 1))
    writeFile(flows, 'bad-id.yaml', {
      id: 'Not A Slug!',
      trigger: { uses: 'manual' },
      steps: [{ id: 'a', uses: 'nope.nothing' }],
    })
    writeFile(flows, 'nested/bad-needs.json', {
      id: 'bad-needs',
      trigger: { uses: 'schedule', with: { cron: 'every now and then', timezone: 'Nowhere/Special' } },
      steps: [{ id: 'a', uses: 'data.set', with: { value: 1 }, needs: ['ghost'] }],
    })
    const result = await runBin(['serve'], {
      PIECEWORK_DATABASE_URL: await freshDatabaseUrl(),
      PIECEWORK_WORKFLOWS_DIR: flows,
      PIECEWORK_SERVER_PORT: String(await freePort()),
    })
    const output = expectRefusal(result)
    const lines = output.split('\n')
    const problem = (file: string, path: string) =>
      expect(
        lines.some((l) => l.includes(file) && l.includes(path)),
        `${file} ${path} in:\n${output}`,
      ).toBe(true)
    problem('bad-id.yaml', 'id:')
    problem('bad-id.yaml', 'steps[0].uses')
    problem('bad-needs.json', 'trigger.with.cron')
    problem('bad-needs.json', 'trigger.with.timezone')
    problem('bad-needs.json', 'steps[0].needs[0]')
    expect(output).not.toContain('good.yaml')
  })

  it('makes a changed file version 2 on the next start and leaves an unchanged one at version 1', async () => {
    const flows = tempDir('flows')
    writeFile(flows, 'changing.yaml', setter('changing', 'before'))
    writeFile(flows, 'steady.yaml', setter('steady', 'always'))
    const env = { PIECEWORK_DATABASE_URL: await freshDatabaseUrl(), PIECEWORK_WORKFLOWS_DIR: flows }

    let server = await startServer({ env })
    expect(await getJson<WorkflowBody>(server, '/api/v1/workflows/changing')).toMatchObject({ version: 1 })
    expect(await server.stop()).toBe(0)

    writeFile(flows, 'changing.yaml', setter('changing', 'after'))
    server = await startServer({ env })
    try {
      const changed = await getJson<WorkflowBody>(server, '/api/v1/workflows/changing')
      expect(changed).toMatchObject({ version: 2 })
      expect(changed.definition.steps[0]).toMatchObject({ with: { value: 'after' } })
      const older = await getJson<WorkflowBody>(server, '/api/v1/workflows/changing?version=1')
      expect(older.definition.steps[0]).toMatchObject({ with: { value: 'before' } })
      expect(await getJson<WorkflowBody>(server, '/api/v1/workflows/steady')).toMatchObject({ version: 1 })
      await expectMissing(server.request('/api/v1/workflows/steady?version=2'))
    } finally {
      await server.stop()
    }
  })
})

async function expectMissing(res: Promise<Response>) {
  expect((await res).status).toBe(404)
}

describe('piecework validate on a config folder', () => {
  it('exits 0 for a valid piecework.yaml with its workflows folder', async () => {
    const folder = tempDir('validate-ok')
    writeFile(folder, 'piecework.yaml', {
      server: { port: 8080 },
      database: { url: ref('PW_TEST_DEPLOY_DB') },
    })
    writeFile(folder, 'workflows/one.yaml', setter('one', 1))
    writeFile(folder, 'workflows/two.json', setter('two', 2))
    const { code, output } = await runBin(['validate', folder], {})
    expect(code, output).toBe(0)
    for (const file of ['piecework.yaml', 'one.yaml', 'two.json']) expect(output).toContain(file)
  })

  it('exits 2 listing every problem of an invalid one', async () => {
    const folder = tempDir('validate-bad')
    writeFile(folder, 'piecework.yaml', 'server:\n  port: "abc"\n  colour: red\n')
    writeFile(folder, 'workflows/fine.yaml', setter('fine', 1))
    writeFile(folder, 'workflows/broken.yaml', {
      id: 'Broken!',
      trigger: { uses: 'manual' },
      steps: [
        { id: 'a', uses: 'nope.nothing' },
        { id: 'b', uses: 'data.set', needs: ['ghost'] },
      ],
    })
    writeFile(folder, 'workflows/bad-trigger.yaml', {
      id: 'bad-trigger',
      trigger: { uses: 'schedule', with: { cron: '99 * * * *', timezone: 'Nowhere/Special' } },
      steps: [{ id: 'a', uses: 'data.set', with: { value: 1 } }],
    })
    writeFileSync(join(folder, 'workflows/garbled.yaml'), 'id: [unclosed\n')
    const { code, output } = await runBin(['validate', folder], {})
    expect(code, output).toBe(2)
    for (const text of [
      `invalid ${join(folder, 'piecework.yaml')}`,
      'server.port',
      'server.colour',
      `invalid ${join(folder, 'workflows/broken.yaml')}`,
      '  id:',
      'steps[0].uses',
      'steps[1].needs[0]',
      `invalid ${join(folder, 'workflows/bad-trigger.yaml')}`,
      'trigger.with.cron',
      'trigger.with.timezone',
      `invalid ${join(folder, 'workflows/garbled.yaml')}`,
      `ok      ${join(folder, 'workflows/fine.yaml')}`,
    ]) {
      expect(output, text).toContain(text)
    }
  })

  it("lists a trigger's problems next to the definition's other problems", async () => {
    const folder = tempDir('validate-mixed')
    writeFile(folder, 'mixed.yaml', {
      id: 'Not A Slug!',
      trigger: { uses: 'webhook', with: { path: 'x', method: 'TELEPORT' } },
      steps: [{ id: 'a', uses: 'data.set', with: { value: 1 } }],
    })
    const { code, output } = await runBin(['validate', folder], {})
    expect(code, output).toBe(2)
    expect(output).toContain('  id:')
    expect(output).toContain('trigger.with.method')
  })
})
