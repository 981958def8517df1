// A step that waited for a thread while the engine was stopped past its leases (SIGSTOP, a long
// pause) must not begin: another process may own its run by then and run the step itself. The
// worker threads and the sandbox pool refuse it (LEASE_UNSURE) when it would begin, and the engine
// gives it again only once its leases are confirmed.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { SandboxPool } from '../../src/sandbox/sandbox-pool.js'
import { WorkerPool } from '../../src/workers/pool.js'
import { LeaseDeadline } from '../../src/workers/protocol.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { step, workflow } from './workflows.js'

const task = (code: string) => ({
  uses: 'code.run',
  props: { code },
  input: null,
  inputs: {},
  run: { id: 'r1', workflowId: 'lease', workflowVersion: 1 },
  stepId: 's',
  attempt: 1,
  idempotencyKey: 'r1:s',
  timeoutMs: 10_000,
  maxOutputBytes: 1_000_000,
})
const never = new AbortController().signal

describe('a step given past the lease deadline', () => {
  it('does not begin in a worker thread, and begins once the deadline is ahead again', async () => {
    const deadline = new LeaseDeadline()
    const pool = new WorkerPool({ threads: 1, memoryLimitMb: 64, leaseDeadline: deadline.buffer })
    try {
      deadline.set(performance.now() - 1)
      const refused = await pool.run(task('return 1'), never, () => {})
      expect(refused).toMatchObject({ ok: false, error: { code: 'LEASE_UNSURE' } })
      deadline.set(performance.now() + 10_000)
      expect(await pool.run(task('return 2'), never, () => {})).toMatchObject({ ok: true, json: '2' })
    } finally {
      await pool.close()
    }
  })

  it('is not given to a sandbox process while the leases are not sure', async () => {
    let sure = false
    const sandbox = new SandboxPool({
      processes: 1,
      threadsPerProcess: 1,
      memoryLimitMb: 64,
      processMemoryMb: 512,
      leaseSure: () => sure,
    })
    try {
      const refused = await sandbox.run(task('return 1'), never, () => {})
      expect(refused).toMatchObject({ ok: false, error: { code: 'LEASE_UNSURE' } })
      sure = true
      expect(await sandbox.run(task('return 2'), never, () => {})).toMatchObject({ ok: true, json: '2' })
    } finally {
      await sandbox.close()
    }
  })
})

describe(`the engine after its leases were unsure (${TEST_DB})`, () => {
  let engine: Engine
  let server: Server
  let base: string
  const calls = new Map<string, number>()

  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
    server = createServer((req, res) => {
      const key = String(req.headers['idempotency-key'])
      calls.set(key, (calls.get(key) ?? 0) + 1)
      // the first call holds the engine's one thread; meanwhile the leases stop being sure, as
      // after a stop past them, while the second step waits in the pool's queue
      if (req.url === '/slow') engine.executors.leaseDeadline.set(performance.now() - 1)
      setTimeout(() => res.end('{}'), req.url === '/slow' ? 300 : 0)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await engine?.close()
    server?.close()
  })

  it('gives a step refused in the queue again once the leases are confirmed, and calls it once', async () => {
    const call = (id: string, path: string) =>
      step(id, 'http.request', { method: 'POST', url: `${base}${path}`, idempotent: true })
    const { workflow: wf } = await engine.deploy(
      workflow('lease-unsure', [call('slow', '/slow'), call('queued', '/queued')]),
    )
    const { id } = await engine.startRun(wf.id, {})
    const run = await engine.getRun(id, 10_000)
    expect(run.status).toBe('succeeded')
    expect([calls.get(`${id}:slow`), calls.get(`${id}:queued`)]).toEqual([1, 1])
    // the queued step was refused when it would have begun; the engine renewed its leases first
    expect(engine.executors.leaseDeadline.passed).toBe(false)
  })
})
