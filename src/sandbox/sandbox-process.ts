// The entry of a sandbox process: a child of the engine that hosts the worker threads running
// untrusted steps (`code.run`, pieces from packages). If user code takes this whole process down
// (V8 aborts a process when one allocation fails for good), only the steps in it are lost; the
// engine sees the exit, fails those attempts and starts another sandbox process.
import { WorkerPool } from '../workers/pool.js'
import { type FromSandbox, OVER_MEMORY_LIMIT, type SandboxInit, type ToSandbox } from './protocol.js'

/** How often resident memory is compared with the limit (ArrayBuffers are outside V8's heap limit). */
const MEMORY_CHECK_MS = 50

function send(message: FromSandbox): void {
  process.send?.(message)
}

function watchMemory(limitMb: number): void {
  const limit = limitMb * 1024 * 1024
  setInterval(() => {
    const usage = process.memoryUsage()
    if (usage.rss <= limit && usage.arrayBuffers <= limit) return
    // stderr is a pipe, written synchronously on Linux: the engine reads this line after the kill
    process.stderr.write(
      `${OVER_MEMORY_LIMIT} of ${limitMb} MB (rss ${usage.rss >> 20} MB, ` +
        `array buffers ${usage.arrayBuffers >> 20} MB)\n`,
    )
    // not process.exit: it waits for worker threads, and a thread inside one long native call
    // (filling a 2 GB buffer) would keep the memory growing meanwhile
    process.kill(process.pid, 'SIGKILL')
  }, MEMORY_CHECK_MS).unref()
}

function serve(init: SandboxInit): void {
  const pool = new WorkerPool({
    threads: init.threads,
    memoryLimitMb: init.memoryLimitMb,
    pieceFiles: init.pieceFiles,
    credentials: init.credentials,
    // the engine gives this process a step only when one of its threads is free
    startsAtOnce: true,
  })
  watchMemory(init.rssLimitMb)
  const aborts = new Map<number, AbortController>()
  process.on('message', (message: ToSandbox) => {
    if (message.type === 'cancel') aborts.get(message.id)?.abort()
    if (message.type !== 'run') return
    const { id, task } = message
    const abort = new AbortController()
    aborts.set(id, abort)
    pool
      .run(task, abort.signal, (level, msg, data) => send({ type: 'log', id, level, msg, data }))
      .then((reply) => send({ type: 'reply', id, reply }))
      .finally(() => aborts.delete(id))
  })
  send({ type: 'ready' })
}

// the engine gone means nobody wants the answers: end with it
process.on('disconnect', () => process.exit(0))
process.once('message', (message: ToSandbox) => {
  if (message.type === 'init') serve(message)
})
