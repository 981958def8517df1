// A real `piecework serve` (the compiled bin in dist/) in a child process on a free port, for tests
// that talk to the HTTP API over the wire the way a client would.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freshDatabaseUrl } from '../helpers/db.js'
import { BIN, childEnv, freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'

export { BIN, childEnv, freePort }

export interface ServeOptions {
  /** Extra PIECEWORK_* variables; they win over the defaults set here. */
  env?: Record<string, string>
}

/** url, port, output(), request(path, { json }), stop(): see ServeProcess. */
export type TestServer = ServeProcess

/** Runs the bin to its exit (for starts that must fail); gives the exit code and all output. */
export function runBin(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [BIN, ...args], {
      cwd: mkdtempSync(join(tmpdir(), 'piecework-cwd-')),
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`piecework ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output })
    })
  })
}

export async function startServer(options: ServeOptions = {}): Promise<TestServer> {
  const port = await freePort()
  const server = new ServeProcess(port, {
    ...serveEnv(port, await freshDatabaseUrl()),
    PIECEWORK_WORKERS_THREADS: '2',
    ...options.env,
  })
  await server.start(30_000)
  return server
}

/** Two servers on one fresh database (on PostgreSQL, where processes may share one). */
export async function startTwoServers(options: ServeOptions = {}): Promise<[TestServer, TestServer]> {
  const env = { ...options.env, PIECEWORK_DATABASE_URL: await freshDatabaseUrl() }
  const first = await startServer({ env })
  const second = await startServer({ env }).catch(async (error) => {
    await first.stop()
    throw error
  })
  return [first, second]
}

/** Polls GET /api/v1/runs/:id until the run has ended. */
export async function waitForRun(
  server: TestServer,
  id: string,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<RunBody> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await server.request(`/api/v1/runs/${id}`, { headers })
    const run = (await res.json()) as RunBody
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) return run
    if (Date.now() > deadline) throw new Error(`run ${id} is still ${run.status} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Polls until the run has the status wanted. */
export async function waitForStatus(server: TestServer, id: string, status: string): Promise<RunBody> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const run = (await (await server.request(`/api/v1/runs/${id}`)).json()) as RunBody
    if (run.status === status) return run
    if (Date.now() > deadline) throw new Error(`run ${id} is ${run.status}, not ${status}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export interface RunBody {
  id: string
  workflowId: string
  workflowVersion: number
  status: string
  input: unknown
  output: unknown
  error: { code: string; message: string; stepId?: string } | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  steps: {
    id: string
    status: string
    attempts: number
    output: unknown
    error: unknown
    startedAt: string | null
    finishedAt: string | null
  }[]
}

export interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] }
}
