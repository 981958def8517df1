// A real `piecework serve` (the compiled bin in dist/) in a child process on a free port, for tests
// that talk to the HTTP API over the wire the way a client would.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from '../helpers/cases.js'
import { freshDatabaseUrl } from '../helpers/db.js'

export const BIN = join(ROOT, 'dist/src/cli.js')

export interface ServeOptions {
  /** Extra PIECEWORK_* variables; they win over the defaults set here. */
  env?: Record<string, string>
}

export interface TestServer {
  url: string
  port: number
  /** Everything the process wrote to stdout and stderr so far. */
  output: () => string
  /** A request to `url + path`; a plain-object `json` becomes the JSON body. */
  request: (path: string, init?: RequestInit & { json?: unknown }) => Promise<Response>
  /** SIGTERM, then the exit code once it has drained. */
  stop: () => Promise<number | null>
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}

/** The environment of a child: ours without any PIECEWORK_* or PORT, plus what the test sets. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PIECEWORK_') && key !== 'PORT') env[key] = value
  }
  return { ...env, ...extra }
}

/** Runs the bin to its exit (for starts that must fail); gives the exit code and all output. */
export function runBin(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; output: string }> {
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
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

export async function startServer(options: ServeOptions = {}): Promise<TestServer> {
  const port = await freePort()
  const env = {
    PIECEWORK_DATABASE_URL: await freshDatabaseUrl(),
    PIECEWORK_SERVER_PORT: String(port),
    PIECEWORK_WORKFLOWS_DIR: mkdtempSync(join(tmpdir(), 'piecework-workflows-')),
    PIECEWORK_WORKERS_THREADS: '2',
    PIECEWORK_LOG_LEVEL: 'warn',
    ...options.env,
  }
  // A working directory of its own, so that the repository's config/piecework.yaml is not read.
  const child = spawn('node', [BIN, 'serve'], {
    cwd: mkdtempSync(join(tmpdir(), 'piecework-cwd-')),
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk) => (output += chunk))
  child.stderr?.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  await waitForHealth(url, child, exited, () => output)
  return {
    url,
    port,
    output: () => output,
    request: (path, init = {}) => {
      const { json, ...rest } = init
      if (json === undefined) return fetch(url + path, rest)
      const headers = new Headers(rest.headers)
      if (!headers.has('content-type')) headers.set('content-type', 'application/json')
      return fetch(url + path, { method: 'POST', ...rest, headers, body: JSON.stringify(json) })
    },
    stop: () => stopChild(child, exited),
  }
}

async function waitForHealth(
  url: string,
  child: ChildProcess,
  exited: Promise<number | null>,
  output: () => string,
): Promise<void> {
  let code: number | null | undefined
  void exited.then((c) => (code = c))
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (code !== undefined)
      throw new Error(`piecework serve exited with ${code} before serving:\n${output()}`)
    try {
      const res = await fetch(`${url}/health`)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`piecework serve did not answer /health within 30 s:\n${output()}`)
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const killed = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 15_000)))
  const result = await Promise.race([exited, killed])
  clearTimeout(timer)
  if (result === 'timeout') {
    child.kill('SIGKILL')
    await exited
    throw new Error('piecework serve did not exit within 15 s of SIGTERM')
  }
  return result
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
