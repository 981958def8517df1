// Database faults injected for real, against `piecework serve`: PostgreSQL connections terminated by
// the server in the middle of a load (`pg_terminate_backend`), and a SQLite disk that fills up and
// is freed again. The process keeps serving (or says it is not ready), comes back by itself, and
// every run it accepted finishes.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, ServeProcess, serveEnv, sleep } from '../helpers/serve-process.js'

const WORKFLOW = {
  id: 'steady',
  trigger: { uses: 'manual' },
  steps: [
    { id: 'a', uses: 'data.set', with: { value: { n: '{{ input.n }}' } } },
    { id: 'b', uses: 'code.run', needs: ['a'], with: { code: 'return { n: input.n * 2 }' } },
    { id: 'wait', uses: 'flow.delay', needs: ['b'], with: { for: '300ms' } },
    { id: 'c', uses: 'data.set', needs: ['wait'], with: { value: '{{ input }}' } },
  ],
  output: '{{ steps.c.output }}',
}

/** Starts runs one after another while `on()`; answers the ids of those the server accepted. */
async function load(
  server: ServeProcess,
  on: () => boolean,
): Promise<{ accepted: string[]; refused: number }> {
  const accepted: string[] = []
  let refused = 0
  for (let n = 0; on(); n++) {
    const res = await server
      .request('/api/v1/workflows/steady/runs', { json: { input: { n } } })
      .catch(() => undefined)
    if (res?.status === 202) accepted.push(((await res.json()) as { id: string }).id)
    else {
      refused++
      await res?.text()
      // a refusal is a clean 503 while the database is away, never a 500
      if (res) expect([503]).toContain(res.status)
      await sleep(50)
    }
  }
  return { accepted, refused }
}

async function allEnd(server: ServeProcess, ids: string[], timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  let statuses: string[] = []
  while (Date.now() < deadline) {
    statuses = await Promise.all(
      ids.map((id) =>
        server.json<{ status: string }>(`/api/v1/runs/${id}`).then(
          (r) => r.status,
          () => 'unreadable',
        ),
      ),
    )
    if (statuses.every((s) => s === 'succeeded' || s === 'failed' || s === 'cancelled')) break
    await sleep(250)
  }
  return statuses
}

describe.runIf(TEST_DB === 'postgres')('PostgreSQL connections terminated mid-load (postgres)', () => {
  let server: ServeProcess
  afterAll(async () => server?.stop())

  it('keeps serving and finishes every accepted run', async () => {
    const databaseUrl = await freshDatabaseUrl()
    const port = await freePort()
    server = new ServeProcess(port, serveEnv(port, databaseUrl))
    await server.start()
    await server.json('/api/v1/workflows', { json: WORKFLOW }, 201)
    let on = true
    const loading = load(server, () => on)
    const admin = new pg.Client({ connectionString: databaseUrl })
    await admin.connect()
    let terminated = 0
    for (let i = 0; i < 5; i++) {
      await sleep(400)
      const { rows } = await admin.query(
        'select pg_terminate_backend(pid) as done from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      )
      terminated += rows.filter((r) => r.done).length
    }
    await sleep(400)
    on = false
    const { accepted } = await loading
    await admin.end()
    const statuses = await allEnd(server, accepted)
    console.log(`terminated ${terminated} connections; ${accepted.length} runs accepted`)
    expect(terminated).toBeGreaterThan(0)
    expect(server.running).toBe(true)
    expect(statuses.filter((s) => s !== 'succeeded')).toEqual([])
    expect((await server.request('/ready')).status).toBe(200)
  })
})

describe.runIf(TEST_DB === 'sqlite' && process.getuid?.() === 0)(
  'a SQLite disk that fills up (sqlite)',
  () => {
    const mount = mkdtempSync(join(tmpdir(), 'piecework-tmpfs-'))
    let server: ServeProcess
    let mounted = false
    afterAll(async () => {
      await server?.stop()
      if (mounted) execFileSync('umount', [mount])
      rmSync(mount, { recursive: true, force: true })
    })

    it('says it is not ready while the disk is full, and finishes every accepted run once it is freed', async () => {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mount])
      mounted = true
      mkdirSync(join(mount, 'db'))
      const port = await freePort()
      server = new ServeProcess(port, serveEnv(port, `sqlite:${join(mount, 'db', 'piecework.db')}`))
      await server.start()
      await server.json('/api/v1/workflows', { json: WORKFLOW }, 201)
      let on = true
      const loading = load(server, () => on)
      await sleep(500)
      // fill the disk: the next commits fail with SQLITE_FULL
      const ballast = join(mount, 'ballast')
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${ballast}`, 'bs=1M', 'count=64'], { stdio: 'ignore' })
      } catch {
        // dd stops when the disk is full: that is the point
      }
      await sleep(1_500)
      const ready = await server.request('/ready')
      const readyWhileFull = ready.status
      await ready.text()
      writeFileSync(ballast, '')
      rmSync(ballast)
      await sleep(1_000)
      on = false
      const { accepted, refused } = await loading
      const statuses = await allEnd(server, accepted)
      console.log(`disk full: /ready ${readyWhileFull}; ${accepted.length} runs accepted, ${refused} refused`)
      expect(server.running).toBe(true)
      expect(readyWhileFull).toBe(503)
      expect(statuses.filter((s) => s !== 'succeeded')).toEqual([])
      expect((await server.request('/ready')).status).toBe(200)
    })
  },
)
