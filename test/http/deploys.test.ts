// Deploys without surprises: one id per file, workflows owned by their files, one `serve` per SQLite
// file (refused before anything is written), and operational errors as one clear line.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'
import { runBin } from './server.js'

const hello = (id: string, greeting: string) =>
  `id: ${id}\ntrigger: { uses: manual }\nsteps:\n  - id: greet\n    uses: data.set\n    with: { value: ${greeting} }\n`

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'piecework-deploys-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

const sqliteUrl = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'piecework-db-')), 'engine.db')}`

/** The lines of an output that are not blank. */
const lines = (output: string) => output.split('\n').filter((l) => l.trim() !== '')

describe('two files with one workflow id', () => {
  const dir = folder({
    'a.yaml': hello('same', 'one'),
    'b.yaml': hello('same', 'two'),
    'c.yaml': hello('other', 'x'),
  })

  it('makes validate name both files and exit 2', async () => {
    const { code, output } = await runBin(['validate', dir], {})
    expect(code).toBe(2)
    expect(output).toContain(`invalid ${join(dir, 'a.yaml')}`)
    expect(output).toContain(`is also defined in ${join(dir, 'b.yaml')}`)
    expect(output).toContain(`invalid ${join(dir, 'b.yaml')}`)
    expect(output).toContain(`is also defined in ${join(dir, 'a.yaml')}`)
    expect(output).toContain(`ok      ${join(dir, 'c.yaml')}`)
  })

  it('keeps serve from starting, naming both files', async () => {
    const databaseUrl = sqliteUrl()
    const port = await freePort()
    const { code, output } = await runBin(['serve'], {
      ...serveEnv(port, databaseUrl),
      PIECEWORK_WORKFLOWS_DIR: dir,
    })
    expect(code).toBe(2)
    expect(output).toContain(
      `${join(dir, 'a.yaml')}: workflow id 'same' is also defined in ${join(dir, 'b.yaml')}`,
    )
  })
})

describe('workflows deployed from files', () => {
  let server: ServeProcess
  beforeAll(async () => {
    const port = await freePort()
    server = new ServeProcess(port, {
      ...serveEnv(port, sqliteUrl()),
      PIECEWORK_WORKFLOWS_DIR: folder({ 'owned.yaml': hello('owned', 'from-file') }),
    })
    await server.start()
  })
  afterAll(async () => server?.stop())

  it('answers 409 naming the file to a change or a delete through the API', async () => {
    const put = await server.request('/api/v1/workflows/owned', {
      method: 'PUT',
      json: {
        trigger: { uses: 'manual' },
        steps: [{ id: 'greet', uses: 'data.set', with: { value: 'api' } }],
      },
    })
    expect(put.status).toBe(409)
    const body = (await put.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('CONFLICT')
    expect(body.error.message).toMatch(/deployed from .*owned\.yaml/)
    const del = await server.request('/api/v1/workflows/owned', { method: 'DELETE' })
    expect(del.status).toBe(409)
    const still = (await (await server.request('/api/v1/workflows/owned')).json()) as { version: number }
    expect(still.version).toBe(1)
  })

  it('lets workflows made through the API be changed through it', async () => {
    const created = await server.request('/api/v1/workflows', {
      json: {
        id: 'mine',
        trigger: { uses: 'manual' },
        steps: [{ id: 'a', uses: 'data.set', with: { value: 1 } }],
      },
    })
    expect(created.status).toBe(201)
    const put = await server.request('/api/v1/workflows/mine', {
      method: 'PUT',
      json: { trigger: { uses: 'manual' }, steps: [{ id: 'a', uses: 'data.set', with: { value: 2 } }] },
    })
    expect(put.status).toBe(200)
  })
})

describe('one serve per SQLite file', () => {
  it('refuses a second serve on the file before it writes anything, and takes the file once the first is gone', async () => {
    const databaseUrl = sqliteUrl()
    const portA = await freePort()
    const first = new ServeProcess(portA, serveEnv(portA, databaseUrl))
    await first.start()
    try {
      const portB = await freePort()
      const dir = folder({ 'second.yaml': hello('second', 'x') })
      const second = await runBin(['serve'], {
        ...serveEnv(portB, databaseUrl),
        PIECEWORK_WORKFLOWS_DIR: dir,
      })
      expect(second.code).toBe(1)
      expect(lines(second.output)).toEqual([
        expect.stringMatching(
          /^piecework: DATABASE_IN_USE: the SQLite file .*engine\.db is in use by another piecework process/,
        ),
      ])
      // nothing of the second one's folder reached the database
      expect((await first.request('/api/v1/workflows/second')).status).toBe(404)
      expect((await first.request('/health')).status).toBe(200)
      // the lock is one file beside the database, with no journal of its own
      const file = databaseUrl.replace(/^sqlite:/, '')
      expect([existsSync(`${file}.lock`), existsSync(`${file}.lock-journal`)]).toEqual([true, false])
    } finally {
      // killed, not stopped: the operating system lets go of the lock however a process ends
      await first.kill()
    }
    const portC = await freePort()
    const third = new ServeProcess(portC, serveEnv(portC, databaseUrl))
    await third.start()
    expect((await third.request('/health')).status).toBe(200)
    await third.stop()
  })
})

describe('operational errors', () => {
  let holder: ServeProcess
  beforeAll(async () => {
    const port = await freePort()
    holder = new ServeProcess(port, serveEnv(port, sqliteUrl()))
    await holder.start()
  })
  afterAll(async () => holder?.stop())

  it('says in one line that the port is taken, before it opens the database', async () => {
    const databaseUrl = sqliteUrl()
    const { code, output } = await runBin(['serve'], serveEnv(holder.port, databaseUrl))
    expect(code).toBe(1)
    expect(lines(output)).toEqual([
      `piecework: PORT_IN_USE: 127.0.0.1:${holder.port} is in use by another process: stop it, or set server.port (PIECEWORK_SERVER_PORT)`,
    ])
    expect(existsSync(databaseUrl.slice('sqlite:'.length))).toBe(false)
  })

  it('says in one line that the database cannot be reached', async () => {
    const port = await freePort()
    const { code, output } = await runBin(
      ['migrate', '--db', `postgres://nobody:secret@127.0.0.1:${port}/none`],
      {},
    )
    expect(code).toBe(1)
    const said = lines(output)
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(
      /^piecework: DATABASE_UNREACHABLE: cannot open the database at postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/none: .*ECONNREFUSED/,
    )
    expect(output).not.toContain('secret')
  })
})
