// What every bench file shares: options from the command line, and the two ways a bench runs —
// forked by bench/run.mjs (rows go back over IPC) or on its own (rows printed as a table).
import { fileURLToPath } from 'node:url'
import { machine } from './machine.mjs'
import { renderTable } from './table.mjs'

export function parseOptions(argv = process.argv.slice(2)) {
  const quick = argv.includes('--quick')
  const repsArg = argv.find((a) => a.startsWith('--reps='))
  return { quick, reps: repsArg ? Number(repsArg.slice(7)) : quick ? 1 : 3 }
}

/** Progress lines go to stderr, so that they never mix with a table or with IPC. */
export function log(...parts) {
  process.stderr.write(`  · ${parts.join(' ')}\n`)
}

/**
 * A bench module ends with `await runIfMain(import.meta.url, bench)`, where `bench(options)`
 * resolves with rows (see lib/table.mjs).
 */
export async function runIfMain(moduleUrl, bench) {
  if (fileURLToPath(moduleUrl) !== process.argv[1]) return
  const options = parseOptions()
  try {
    const rows = await bench(options)
    if (process.send) await new Promise((resolve) => process.send({ rows }, resolve))
    else console.log(`\n${renderTable(rows, { machine: machine() })}`)
  } catch (error) {
    if (process.send)
      await new Promise((resolve) => process.send({ error: error.stack ?? String(error) }, resolve))
    else console.error(error)
    process.exitCode = 1
  }
  // worker threads and keep-alive sockets must not hold a finished bench open
  setTimeout(() => process.exit(), 200).unref()
}
