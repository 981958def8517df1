// `piecework serve` (the compiled bin) as a child process: every test that talks to a real server
// starts it through here. It can be killed and started again on the same database and port, the
// way an operator's supervisor (systemd, Kubernetes) would.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './cases.js'

export const BIN = join(ROOT, 'dist/src/cli.js')

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** From the signal to the exit. */
  ms: number
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

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The environment of a child: ours without any PIECEWORK_* or PORT, plus what the test sets. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PIECEWORK_') && key !== 'PORT') env[key] = value
  }
  return { ...env, ...extra }
}

/** The settings most tests start with: a database, the port, an empty workflows folder, quiet logs. */
export function serveEnv(port: number, databaseUrl: string): Record<string, string> {
  return {
    PIECEWORK_DATABASE_URL: databaseUrl,
    PIECEWORK_SERVER_PORT: String(port),
    PIECEWORK_WORKFLOWS_DIR: mkdtempSync(join(tmpdir(), 'piecework-workflows-')),
    PIECEWORK_LOG_LEVEL: 'warn',
  }
}

/**
 * The settings of the tests that kill `serve` processes: two threads, 2 s leases and a 200 ms poll,
 * so that a killed process's runs are taken over soon.
 */
export function killTestEnv(port: number, databaseUrl: string): Record<string, string> {
  return {
    ...serveEnv(port, databaseUrl),
    PIECEWORK_WORKERS_THREADS: '2',
    PIECEWORK_RUNS_LEASE_TTL: '2s',
    PIECEWORK_RUNS_POLL_INTERVAL: '200ms',
  }
}

export class ServeProcess {
  readonly url: string
  /** How many processes have been started so far. */
  starts = 0
  private child: ChildProcess | undefined
  private exited: Promise<Exit> | undefined
  private signalledAt = 0
  private healthy = false
  private log = ''
  // a working folder of its own, so that the repository's config/piecework.yaml is not read
  private readonly cwd = mkdtempSync(join(tmpdir(), 'piecework-cwd-'))
  private readonly env: NodeJS.ProcessEnv

  /**
   * `env` holds exactly the PIECEWORK_* settings of the process (see `serveEnv`); `args` follow
   * `serve` (`--config FILE`). The server is expected on `port`.
   */
  constructor(
    readonly port: number,
    env: Record<string, string>,
    private readonly args: string[] = [],
  ) {
    this.url = `http://127.0.0.1:${port}`
    this.env = childEnv(env)
  }

  /** Everything every process wrote, with a marker line between processes. */
  output(): string {
    return this.log
  }

  /** True from a successful /health until the process is signalled or dies. */
  get serving(): boolean {
    return this.healthy && this.running
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** Starts a process and resolves once it answers /health. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error('piecework serve is already running')
    this.starts += 1
    this.log += `\n----- start #${this.starts} at ${new Date().toISOString()} -----\n`
    const child = spawn('node', [BIN, 'serve', ...this.args], {
      cwd: this.cwd,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout?.on('data', (chunk) => (this.log += chunk))
    child.stderr?.on('data', (chunk) => (this.log += chunk))
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.log += `\n----- exit #${this.starts}: code ${code}, signal ${signal} -----\n`
        resolve({ code, signal, ms: Date.now() - this.signalledAt })
      }),
    )
    this.child = child
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`piecework serve exited before serving:\n${this.log}`)
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1_000) })
        if (res.status === 200) {
          this.healthy = true
          return
        }
      } catch {
        // not listening yet
      }
      await sleep(50)
    }
    child.kill('SIGKILL')
    throw new Error(`piecework serve did not answer /health within ${timeoutMs} ms:\n${this.log}`)
  }

  /** SIGKILL: no drain, no release of leases; resolves once the process is gone. */
  async kill(): Promise<Exit> {
    return this.signal('SIGKILL')
  }

  /** SIGTERM, then the exit once the process has drained. */
  async terminate(): Promise<Exit> {
    return this.signal('SIGTERM')
  }

  /** SIGTERM and the exit code; a process that has not exited after `timeoutMs` is killed and the test fails. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (!this.child || !this.running) return this.child?.exitCode ?? null
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)))
    const exit = await Promise.race([this.terminate(), late])
    clearTimeout(timer)
    if (exit === 'late') {
      await this.kill()
      throw new Error(`piecework serve did not exit within ${timeoutMs} ms of SIGTERM:\n${this.log}`)
    }
    return exit.code
  }

  async signal(signal: NodeJS.Signals): Promise<Exit> {
    if (!this.child || !this.exited) throw new Error('piecework serve was never started')
    this.healthy = false
    if (this.running) {
      this.signalledAt = Date.now()
      this.child.kill(signal)
    }
    return this.exited
  }

  /** A request to `url + path`; `json` becomes a JSON body (and the method POST unless given). */
  request(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const { json, ...rest } = init
    const signal = rest.signal ?? AbortSignal.timeout(15_000)
    if (json === undefined) return fetch(this.url + path, { ...rest, signal })
    const headers = new Headers(rest.headers)
    headers.set('content-type', 'application/json')
    return fetch(this.url + path, { method: 'POST', ...rest, signal, headers, body: JSON.stringify(json) })
  }

  /** A JSON answer with the expected status, or an error that shows the body. */
  async json<T>(path: string, init: RequestInit & { json?: unknown } = {}, status = 200): Promise<T> {
    const res = await this.request(path, init)
    const text = await res.text()
    if (res.status !== status) throw new Error(`${path} answered ${res.status}, not ${status}: ${text}`)
    return JSON.parse(text) as T
  }
}
