// `piecework serve` (the compiled bin) in a child process, for the figures that are about HTTP: the
// load generator and the server must not share an event loop.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from './http.mjs'
import { ensureProfileDir, PROFILE_DIR, profiling } from './profile.mjs'
import { sleep } from './stats.mjs'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = join(ROOT, 'dist/src/cli.js')

/** A port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

export class Server {
  /**
   * @param {object} options
   * @param {string} options.databaseUrl
   * @param {object[]} options.workflows  definitions deployed from the workflows folder on start
   * @param {Record<string,string>} [options.env]  more PIECEWORK_* settings
   * @param {string} [options.logLevel]
   * @param {string} [options.name]  with --profile, CPU profiles of every thread go to
   *   bench/results/profiles/<name>/ (written when the process exits on SIGTERM)
   */
  constructor({ databaseUrl, workflows, env = {}, logLevel = 'warn', name = 'serve' }) {
    if (profiling) ensureProfileDir()
    this.execArgv = profiling ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, name)}`] : []
    this.dir = mkdtempSync(join(tmpdir(), 'piecework-bench-serve-'))
    this.workflowsDir = join(this.dir, 'workflows')
    mkdirSync(this.workflowsDir)
    for (const definition of workflows) {
      writeFileSync(join(this.workflowsDir, `${definition.id}.json`), JSON.stringify(definition))
    }
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('PIECEWORK_') && k !== 'PORT'),
    )
    this.baseEnv = {
      ...inherited,
      PIECEWORK_DATABASE_URL: databaseUrl,
      PIECEWORK_WORKFLOWS_DIR: this.workflowsDir,
      PIECEWORK_LOG_LEVEL: logLevel,
      ...env,
    }
    this.output = ''
    /** Parsed JSON log lines of the current process, each with `receivedAt` (Date.now()). */
    this.lines = []
    this.child = undefined
  }

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  get running() {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /**
   * Spawns the process (on the same port as before when restarted) and resolves once /health
   * answers. Returns `{ spawnedAt, healthyAt }` (Date.now() values).
   */
  async start({ timeoutMs = 60_000 } = {}) {
    this.port ??= await freePort()
    this.lines = []
    this.output += `\n----- start at ${new Date().toISOString()} -----\n`
    const spawnedAt = Date.now()
    const child = spawn(process.execPath, [...this.execArgv, BIN, 'serve'], {
      cwd: this.dir,
      env: { ...this.baseEnv, PIECEWORK_SERVER_PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    let partial = ''
    child.stdout.on('data', (chunk) => {
      const receivedAt = Date.now()
      const text = partial + chunk
      const parts = text.split('\n')
      partial = parts.pop()
      for (const line of parts) {
        this.output += `${line}\n`
        try {
          this.lines.push({ ...JSON.parse(line), receivedAt })
        } catch {}
      }
    })
    child.stderr.on('data', (chunk) => (this.output += chunk))
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`piecework serve exited before serving:\n${this.tail()}`)
      try {
        const res = await request(`${this.url}/health`, { timeoutMs: 1_000 })
        if (res.status === 200) return { spawnedAt, healthyAt: Date.now() }
      } catch {}
      await sleep(10)
    }
    await this.kill()
    throw new Error(`piecework serve did not answer /health within ${timeoutMs} ms:\n${this.tail()}`)
  }

  /** The value of one series of /metrics (`pattern` a regular expression), NaN when absent. */
  async metric(pattern) {
    const { body } = await request(`${this.url}/metrics`)
    const match = new RegExp(`^${pattern} (\\S+)$`, 'm').exec(String(body))
    return match ? Number(match[1]) : Number.NaN
  }

  /** The last lines the processes wrote, for error messages. */
  tail(n = 40) {
    return this.output.split('\n').slice(-n).join('\n')
  }

  /** SIGKILL: no drain, nothing released. Resolves once the process is gone. */
  async kill() {
    if (this.running) this.child.kill('SIGKILL')
    return this.exited
  }

  /** SIGTERM and wait for the drain; SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000) {
    if (!this.running) return this.exited
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    const exit = await this.exited
    clearTimeout(timer)
    return exit
  }

  /** Stops the process and removes its folders. */
  async close() {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
