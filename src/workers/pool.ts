// The host side of the worker pool: Piscina owns the threads; this class sends step tasks, turns
// aborts, timeouts and out-of-memory deaths into step errors, and routes worker log lines.

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MessagePort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import { Piscina } from 'piscina'
import type { ErrorShape } from '../errors.js'
import { EngineError } from '../errors.js'
import { portEndpoint } from './port-endpoint.js'
import {
  HOST_PORT_MESSAGE,
  type HostApi,
  type LogLevel,
  type StepReply,
  type StepTask,
  type WorkerData,
} from './protocol.js'

export interface PoolOptions {
  threads: number
  memoryLimitMb: number
  pieceDirs?: string[]
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
  private readonly tasks = new Map<number, { log: LogSink; started: () => void }>()
  private nextTaskId = 1

  constructor(options: PoolOptions) {
    const workerData: WorkerData = { pieceDirs: options.pieceDirs ?? [] }
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: 2 ** 31 - 1,
      concurrentTasksPerWorker: 1,
      resourceLimits: {
        maxOldGenerationSizeMb: options.memoryLimitMb,
        // a small young generation: steps are short-lived, and each worker's idle heap counts in RSS
        maxYoungGenerationSizeMb: Math.min(16, Math.max(4, Math.floor(options.memoryLimitMb / 16))),
      },
      workerData,
    })
    const hostApi: HostApi = {
      log: (taskId, level, msg, data) =>
        this.tasks.get(taskId)?.log(level, msg, data === undefined ? undefined : JSON.parse(data)),
      started: (taskId) => this.tasks.get(taskId)?.started(),
      flush: () => {},
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
    this.tasks.set(taskId, { log, started })
    try {
      return (await this.piscina.run({ ...task, taskId }, { signal: abort.signal })) as StepReply
    } catch (error) {
      return { ok: false, error: this.failure(error, signal.aborted, timedOut, task.timeoutMs) }
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', onCancel)
      this.tasks.delete(taskId)
    }
  }

  private failure(error: unknown, cancelled: boolean, timedOut: boolean, timeoutMs: number): ErrorShape {
    if (cancelled)
      return {
        name: 'CancelledError',
        code: 'CANCELLED',
        message: 'the step was cancelled',
        retryable: false,
      }
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
