// The host side of the worker pool: Piscina owns the threads; this class sends step tasks, turns
// aborts, timeouts and out-of-memory deaths into step errors, and routes worker log lines.

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MessagePort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import { Piscina } from 'piscina'
import type { ErrorShape } from '../errors.js'
import { EngineError } from '../errors.js'
import type { Credentials } from '../piece-sdk/define.js'
import { splitUses } from '../piece-sdk/registry.js'
import { portEndpoint } from './port-endpoint.js'
import {
  CANCELLED,
  HOST_PORT_MESSAGE,
  type HostApi,
  type LogLevel,
  type StepReply,
  type StepTask,
  type WorkerData,
} from './protocol.js'
import { Redactor, secretForms } from './redact.js'

export interface PoolOptions {
  threads: number
  memoryLimitMb: number
  /** Entry modules of pieces besides the built-in ones. */
  pieceFiles?: string[]
  /** Per piece name: what a piece that declares `auth` gets on `ctx.credentials`. */
  credentials?: Record<string, Credentials>
  /** Tasks that begin past it are refused with LEASE_UNSURE (see `LeaseDeadline`). */
  leaseDeadline?: SharedArrayBuffer
  /**
   * Tasks are only ever given when a thread is free (a sandbox process gets one step per thread),
   * so a step's timeout counts from when it is given, and workers need not report each start.
   */
  startsAtOnce?: boolean
}

export type LogSink = (level: LogLevel, msg: string, data: unknown) => void

/**
 * Workers always run compiled JavaScript: TypeScript loaders do not reach modules that a worker
 * imports dynamically (the pieces). Run from source (tests), the pool uses the build in `dist/`.
 */
function workerFile(): string {
  const own = new URL('./worker.js', import.meta.url)
  if (!import.meta.url.endsWith('.ts')) return own.href
  const built = new URL('../../dist/src/workers/worker.js', import.meta.url)
  if (!existsSync(fileURLToPath(built))) {
    throw new EngineError('NOT_BUILT', 'the worker is not compiled: run `npm run build` first')
  }
  return built.href
}

/** A step is stopped this long after its timeout when it does not stop by itself. */
const ABORT_GRACE_MS = 100

export class WorkerPool {
  private readonly piscina: Piscina
  private readonly ports: MessagePort[] = []
  private readonly tasks = new Map<number, { log: LogSink; started: () => void; piece: string }>()
  private readonly credentials: Record<string, Credentials>
  private readonly redactors = new Map<string, Redactor>()
  private nextTaskId = 1
  private readonly startsAtOnce: boolean

  constructor(options: PoolOptions) {
    const workerData: WorkerData = {
      pieceFiles: options.pieceFiles ?? [],
      leaseDeadline: options.leaseDeadline,
    }
    this.credentials = options.credentials ?? {}
    this.startsAtOnce = options.startsAtOnce ?? false
    for (const [piece, values] of Object.entries(this.credentials)) {
      const redactor = new Redactor(secretForms(values))
      if (!redactor.empty) this.redactors.set(piece, redactor)
    }
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: 2 ** 31 - 1,
      concurrentTasksPerWorker: 1,
      // an idle worker waits on its event loop, not blocked in Atomics.wait: it builds the next
      // step's Compartment meanwhile (src/workers/compartment.ts)
      atomics: 'disabled',
      resourceLimits: {
        maxOldGenerationSizeMb: options.memoryLimitMb,
        // a small young generation: steps are short-lived, and each worker's idle heap counts in RSS
        maxYoungGenerationSizeMb: Math.min(16, Math.max(4, Math.floor(options.memoryLimitMb / 16))),
      },
      workerData,
    })
    const hostApi: HostApi = {
      log: (taskId, level, msg, data) => {
        const task = this.tasks.get(taskId)
        if (!task) return
        const redactor = this.redactors.get(task.piece)
        const clean = (text: string) => (redactor ? redactor.text(text) : text)
        task.log(level, clean(msg), data === undefined ? undefined : JSON.parse(clean(data)))
      },
      started: (taskId) => this.tasks.get(taskId)?.started(),
      flush: () => {},
      credentials: (taskId) => {
        const task = this.tasks.get(taskId)
        return task && this.credentials[task.piece] ? { ...this.credentials[task.piece] } : undefined
      },
    }
    this.piscina.on('message', (message: { type?: string; port?: MessagePort }) => {
      if (message?.type !== HOST_PORT_MESSAGE || !(message.port instanceof MessagePort)) return
      Comlink.expose(hostApi, portEndpoint(message.port))
      message.port.unref()
      this.ports.push(message.port)
    })
  }

  get threads(): number {
    return this.piscina.threads.length
  }

  get utilization(): number {
    return this.piscina.utilization
  }

  get queueSize(): number {
    return this.piscina.queueSize
  }

  /** Runs one step; never throws: every failure comes back as an error reply. */
  async run(task: Omit<StepTask, 'taskId'>, signal: AbortSignal, log: LogSink): Promise<StepReply> {
    const taskId = this.nextTaskId++
    const abort = new AbortController()
    let timedOut = false
    let timer: NodeJS.Timeout | undefined
    // the timeout counts from when a worker starts the step, not while it waits for a free thread
    const started = () => {
      timer = setTimeout(() => {
        timedOut = true
        abort.abort()
      }, task.timeoutMs + ABORT_GRACE_MS)
    }
    const onCancel = () => abort.abort()
    signal.addEventListener('abort', onCancel, { once: true })
    const piece = splitUses(task.uses)[0]
    this.tasks.set(taskId, { log, started, piece })
    if (this.startsAtOnce) started()
    try {
      const sent: StepTask = { ...task, taskId, reportStart: !this.startsAtOnce }
      const reply = (await this.piscina.run(sent, { signal: abort.signal })) as StepReply
      const redactor = this.redactors.get(piece)
      return redactor ? redactReply(reply, redactor) : reply
    } catch (error) {
      return { ok: false, error: this.failure(error, signal.aborted, timedOut, task.timeoutMs) }
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', onCancel)
      this.tasks.delete(taskId)
    }
  }

  private failure(error: unknown, cancelled: boolean, timedOut: boolean, timeoutMs: number): ErrorShape {
    if (cancelled) return CANCELLED
    if (timedOut) {
      return {
        name: 'TimeoutError',
        code: 'TIMEOUT',
        message: `the step took longer than ${timeoutMs} ms`,
        retryable: true,
      }
    }
    const code = (error as { code?: string }).code
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return {
        name: 'MemoryError',
        code: 'MEMORY',
        message: 'the step ran out of its worker memory limit',
        retryable: true,
      }
    }
    return {
      name: 'WorkerError',
      code: 'WORKER',
      message: `the worker failed: ${(error as Error).message}`,
      retryable: true,
    }
  }

  async close(): Promise<void> {
    for (const port of this.ports) port.close()
    // steps still running are stopped: they stay checkpointed as running and run again on restart
    await this.piscina.destroy()
  }
}

function redactReply(reply: StepReply, redactor: Redactor): StepReply {
  if (!reply.ok) return { ok: false, error: redactor.value(reply.error) }
  if (reply.kind === 'child') return { ...reply, input: redactor.text(reply.input) }
  return { ...reply, json: redactor.text(reply.json) }
}
