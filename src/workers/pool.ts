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
  private readonly sinks = new Map<number, LogSink>()
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
        maxYoungGenerationSizeMb: Math.min(64, Math.max(8, Math.floor(options.memoryLimitMb / 4))),
      },
      workerData,
    })
    const hostApi: HostApi = {
      log: (taskId, level, msg, data) =>
        this.sinks.get(taskId)?.(level, msg, data === undefined ? undefined : JSON.parse(data)),
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
    const timeout = AbortSignal.timeout(task.timeoutMs + ABORT_GRACE_MS)
    this.sinks.set(taskId, log)
    try {
      return (await this.piscina.run(
        { ...task, taskId },
        { signal: AbortSignal.any([signal, timeout]) },
      )) as StepReply
    } catch (error) {
      return { ok: false, error: this.failure(error, signal, timeout, task.timeoutMs) }
    } finally {
      this.sinks.delete(taskId)
    }
  }

  private failure(error: unknown, cancel: AbortSignal, timeout: AbortSignal, timeoutMs: number): ErrorShape {
    if (cancel.aborted)
      return {
        name: 'CancelledError',
        code: 'CANCELLED',
        message: 'the step was cancelled',
        retryable: false,
      }
    if (timeout.aborted) {
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
    await this.piscina.close({ force: true })
  }
}
