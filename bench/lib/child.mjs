// Benches that measure one engine's memory run it in a child process of its own (forked with
// --expose-gc), so that nothing else in the process weighs on its RSS: `inChild` on the bench's
// side, `answerParent` and `memoryAfterGc` on the child's.
import { fork } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { sleep } from './stats.mjs'

/** Forks `file`, sends it `options`, and resolves with what its `main(options)` resolved with. */
export function inChild(file, options) {
  return new Promise((resolve, reject) => {
    const child = fork(file, [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    child.once('message', (message) =>
      message.error ? reject(new Error(message.error)) : resolve(message.result),
    )
    child.once('exit', (code) => code !== 0 && reject(new Error(`the engine child exited with ${code}`)))
    child.send(options)
  })
}

/** The child's side: runs `main` with the options the parent sends, answers, and exits. */
export function answerParent(main) {
  process.once('message', async (options) => {
    try {
      process.send({ result: await main(options) }, () => process.exit(0))
    } catch (error) {
      process.send({ error: error.stack ?? String(error) }, () => process.exit(1))
    }
  })
}

/** The process's memory once `ms` have passed and garbage is collected. */
export async function memoryAfterGc(ms) {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc')
  await sleep(ms)
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await sleep(50)
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
  return { rss, heapUsed, heapTotal, external, arrayBuffers }
}

/** Starts the peak RSS (VmHWM) afresh from the current RSS (Linux); false where it cannot. */
export function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}

/** The highest RSS since the process started or since `resetPeakRss`, in bytes. */
export function peakRss() {
  try {
    return 1024 * Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1])
  } catch {
    return process.resourceUsage().maxRSS * 1024
  }
}
