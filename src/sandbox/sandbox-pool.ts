// The engine's side of the sandbox processes: starts and supervises them, hands each untrusted step
// to a free thread in them (fairly across workflows), and turns a process that dies into failed
// attempts of exactly the steps that were in it, then starts another in its place.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import { EngineError, type ErrorShape } from '../errors.js'
import type { Credentials } from '../piece-sdk/define.js'
import type { LogSink } from '../workers/pool.js'
import { CANCELLED, LEASE_UNSURE, type StepReply, type StepTask } from '../workers/protocol.js'
import { lostAttemptError, type ProcessEnd } from './exit-cause.js'
import { defaultShare, FairQueue } from './fair-queue.js'
import type { FromSandbox, SandboxInit, ToSandbox } from './protocol.js'

export interface SandboxOptions {
  processes: number
  threadsPerProcess: number
  /** Old-generation heap of each worker thread (Piscina's resource limit). */
  memoryLimitMb: number
  /** Resident memory of a whole sandbox process, ArrayBuffers included. */
  processMemoryMb: number
  /** Threads one workflow may hold at once (default: all but one). */
  maxThreadsPerWorkflow?: number
  pieceFiles?: string[]
  credentials?: Record<string, Credentials>
  /** Told when a sandbox process ends or starts, for the engine's log. */
  onEvent?: (event: SandboxEvent) => void
  /**
   * Whether the engine's leases on its runs are sure now: a step that waited in the queue while
   * they were not (the engine stopped past them) is answered LEASE_UNSURE instead of given.
   */
  leaseSure?: () => boolean
}

export type SandboxEvent =
  | { type: 'exited'; pid: number | undefined; end: ProcessEnd; lost: number; retired: boolean }
  | { type: 'ready'; pid: number | undefined; startedInMs: number }

/**
 * A step still running this long after its timeout ends its process: the thread's own abort comes
 * first (100 ms after the timeout); this also covers a thread still starting when the step is given.
 */
const KILL_AFTER_TIMEOUT_MS = 3_000
const STDERR_TAIL = 8 * 1024
/**
 * User code yields the CPU to the engine: sandbox processes run at a lower priority (a higher
 * nice value), so that a step burning both cores never slows HTTP, timers or checkpoints.
 */
const SANDBOX_NICE = 10
/** A process that dies before it is ready is restarted after a growing pause (a broken piece file). */
const RESTART_BACKOFF_MS = [0, 100, 500, 2_000, 5_000]

interface Pending {
  id: number
  key: string
  task: Omit<StepTask, 'taskId'>
  log: LogSink
  resolve: (reply: StepReply) => void
  host?: Host
  watchdog?: NodeJS.Timeout
  timedOut?: boolean
}

interface Host {
  child: ChildProcess
  ready: boolean
  spawnedAt: number
  running: Map<number, Pending>
  stderr: string
  killedForTimeout: boolean
  /** Takes no more steps and ends once its running ones are done (see `retire`). */
  retiring: boolean
}

/**
 * Answers after which a sandbox process is replaced rather than given more work: its thread was
 * stopped at its heap limit or terminated at a timeout, and an isolate torn down near its heap
 * limit can still abort the whole process a moment later, taking the next step with it.
 */
const RETIRE_AFTER = new Set(['MEMORY', 'TIMEOUT'])

function sandboxEntry(): string {
  const own = new URL('./sandbox-process.js', import.meta.url)
  if (!import.meta.url.endsWith('.ts')) return fileURLToPath(own)
  const built = fileURLToPath(new URL('../../dist/src/sandbox/sandbox-process.js', import.meta.url))
  if (!existsSync(built)) {
    throw new EngineError('NOT_BUILT', 'the sandbox process is not compiled: run `npm run build` first')
  }
  return built
}

export class SandboxPool {
  private readonly hosts = new Set<Host>()
  private readonly queue: FairQueue<Pending>
  private readonly init: SandboxInit
  private nextId = 1
  private closing = false
  private failedStarts = 0

  constructor(private readonly options: SandboxOptions) {
    const threads = options.processes * options.threadsPerProcess
    this.queue = new FairQueue(options.maxThreadsPerWorkflow ?? defaultShare(threads))
    this.init = {
      type: 'init',
      threads: options.threadsPerProcess,
      memoryLimitMb: options.memoryLimitMb,
      pieceFiles: options.pieceFiles ?? [],
      credentials: options.credentials ?? {},
      rssLimitMb: options.processMemoryMb,
    }
    for (let i = 0; i < options.processes; i++) this.spawnHost()
  }

  /** Threads of the processes that are up and taking work. */
  get threads(): number {
    let n = 0
    for (const host of this.hosts) if (host.ready) n += this.options.threadsPerProcess
    return n
  }

  get queueSize(): number {
    return this.queue.size
  }

  get utilization(): number {
    const total = this.options.processes * this.options.threadsPerProcess
    let busy = 0
    for (const host of this.hosts) busy += host.running.size
    return total === 0 ? 0 : busy / total
  }

  /** Runs one step in a sandbox process; never throws: every failure comes back as an error reply. */
  run(task: Omit<StepTask, 'taskId'>, signal: AbortSignal, log: LogSink): Promise<StepReply> {
    if (signal.aborted || this.closing) return Promise.resolve({ ok: false, error: CANCELLED })
    return new Promise((resolve) => {
      const pending: Pending = { id: this.nextId++, key: task.run.workflowId, task, log, resolve }
      const onCancel = () => {
        if (this.queue.remove(pending.key, pending)) pending.resolve({ ok: false, error: CANCELLED })
        else pending.host && send(pending.host, { type: 'cancel', id: pending.id })
      }
      signal.addEventListener('abort', onCancel, { once: true })
      pending.resolve = (reply) => {
        signal.removeEventListener('abort', onCancel)
        resolve(reply)
      }
      this.queue.push(pending.key, pending)
      this.pump()
    })
  }

  /** Gives waiting steps to free threads, the least busy process first. */
  private pump(): void {
    for (;;) {
      let host: Host | undefined
      for (const h of this.hosts) {
        if (!h.ready || h.retiring || h.running.size >= this.options.threadsPerProcess) continue
        if (!host || h.running.size < host.running.size) host = h
      }
      if (!host) return
      const next = this.queue.take()
      if (!next) return
      const pending = next.item
      if (this.options.leaseSure && !this.options.leaseSure()) {
        this.queue.done(pending.key)
        pending.resolve({ ok: false, error: LEASE_UNSURE })
        continue
      }
      pending.host = host
      host.running.set(pending.id, pending)
      send(host, { type: 'run', id: pending.id, task: pending.task })
      // the process starts the step at once (it has a free thread): its timeout counts from now
      pending.watchdog = setTimeout(() => {
        pending.timedOut = true
        host.killedForTimeout = true
        host.child.kill('SIGKILL')
      }, pending.task.timeoutMs + KILL_AFTER_TIMEOUT_MS)
    }
  }

  private spawnHost(): void {
    const child = spawn(process.execPath, ['--max-old-space-size=256', sandboxEntry()], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    })
    const host: Host = {
      child,
      ready: false,
      spawnedAt: performance.now(),
      running: new Map(),
      stderr: '',
      killedForTimeout: false,
      retiring: false,
    }
    this.hosts.add(host)
    try {
      if (child.pid !== undefined) setPriority(child.pid, SANDBOX_NICE)
    } catch {
      // not allowed here (a container without the capability): the process runs at our priority
    }
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      host.stderr = (host.stderr + chunk).slice(-STDERR_TAIL)
    })
    child.on('message', (message: FromSandbox) => this.receive(host, message))
    // an IPC write to a process that just died fails; its exit handler accounts for its steps
    child.on('error', () => {})
    child.on('exit', (code, signal) => this.exited(host, { code, signal, stderr: host.stderr }))
    send(host, this.init)
  }

  private receive(host: Host, message: FromSandbox): void {
    if (message.type === 'ready') {
      host.ready = true
      this.failedStarts = 0
      this.options.onEvent?.({
        type: 'ready',
        pid: host.child.pid,
        startedInMs: performance.now() - host.spawnedAt,
      })
      this.pump()
      return
    }
    const pending = host.running.get(message.id)
    if (!pending) return
    if (message.type === 'log') pending.log(message.level, message.msg, message.data)
    else if (message.type === 'reply') this.settle(host, pending, message.reply)
  }

  private settle(host: Host, pending: Pending, reply: StepReply): void {
    clearTimeout(pending.watchdog)
    host.running.delete(pending.id)
    this.queue.done(pending.key)
    pending.resolve(reply)
    if (!reply.ok && RETIRE_AFTER.has(reply.error.code)) host.retiring = true
    // a retired process ends once its last step is answered; its exit starts a replacement
    if (host.retiring && host.running.size === 0 && this.hosts.has(host)) host.child.kill('SIGKILL')
    this.pump()
  }

  private exited(host: Host, end: ProcessEnd): void {
    this.hosts.delete(host)
    end.killedForTimeout = host.killedForTimeout
    const lost = [...host.running.values()]
    for (const pending of lost) {
      const error = pending.timedOut ? timeoutError(pending.task.timeoutMs) : lostAttemptError(end)
      this.settle(host, pending, { ok: false, error })
    }
    if (this.closing) return
    this.options.onEvent?.({
      type: 'exited',
      pid: host.child.pid,
      end,
      lost: lost.length,
      retired: host.retiring && lost.length === 0,
    })
    const pause = host.ready
      ? 0
      : RESTART_BACKOFF_MS[Math.min(this.failedStarts++, RESTART_BACKOFF_MS.length - 1)]
    if (pause === 0) this.spawnHost()
    else setTimeout(() => this.closing || this.spawnHost(), pause).unref()
  }

  /** Ends every sandbox process; steps still in them stay checkpointed as running. */
  async close(): Promise<void> {
    this.closing = true
    const ended = [...this.hosts].map(
      (host) =>
        new Promise<void>((resolve) => {
          if (host.child.exitCode !== null || host.child.signalCode !== null) return resolve()
          host.child.once('exit', () => resolve())
          host.child.kill('SIGKILL')
        }),
    )
    for (const host of this.hosts)
      for (const pending of host.running.values()) pending.resolve({ ok: false, error: CANCELLED })
    for (const pending of this.queue.drain()) pending.resolve({ ok: false, error: CANCELLED })
    await Promise.all(ended)
  }
}

function timeoutError(timeoutMs: number): ErrorShape {
  return {
    name: 'TimeoutError',
    code: 'TIMEOUT',
    message: `the step took longer than ${timeoutMs} ms`,
    retryable: true,
  }
}

function send(host: Host, message: ToSandbox): void {
  if (host.child.connected) host.child.send(message)
}
