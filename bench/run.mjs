// `npm run bench [-- --quick] [-- --only=webhook,recovery] [-- --reps=N] [-- --profile]`: builds the
// engine when dist/ is stale, runs each bench in a process of its own (so that one bench's engines,
// threads and garbage never weigh on the next), prints the table and writes bench/results/latest.json.
import { execFileSync, fork } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ensureBuilt } from './lib/build.mjs'
import { parseOptions } from './lib/harness.mjs'
import { load1, machine } from './lib/machine.mjs'
import { renderTable } from './lib/table.mjs'

const BENCHES = [
  { name: 'engine-overhead', figures: '1' },
  { name: 'durable-throughput', figures: '2' },
  { name: 'webhook', figures: '3, 4' },
  { name: 'cpu-steps', figures: '5' },
  { name: 'waiting-memory', figures: '6' },
  { name: 'recovery', figures: '7' },
  { name: 'sandbox', figures: '8' },
  { name: 'fan-in', figures: '9' },
  { name: 'retention', figures: '10' },
  { name: 'processes', figures: '11' },
  { name: 'for-each', figures: '12' },
  { name: 'signal-memory', figures: '13' },
  { name: 'signals', figures: '14' },
  { name: 'sub-workflows', figures: '15' },
  { name: 'realistic', figures: '16' },
  { name: 'fence', figures: '17' },
  { name: 'startup', figures: '18' },
]

function runBench(name, args) {
  return new Promise((resolve) => {
    const file = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url))
    const child = fork(file, args, {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let answer
    child.on('message', (message) => (answer = message))
    child.once('exit', (code, signal) => {
      if (answer?.rows) resolve({ rows: answer.rows })
      else resolve({ error: answer?.error ?? `exited with ${signal ?? code} before answering` })
    })
  })
}

/** The results may be committed: they are written the way `npm run lint` wants JSON to look. */
function formatLikeTheRepo(file) {
  const biome = fileURLToPath(new URL('../node_modules/@biomejs/biome/bin/biome', import.meta.url))
  if (!existsSync(biome)) return
  try {
    execFileSync(process.execPath, [biome, 'format', '--write', file], { stdio: 'ignore' })
  } catch {}
}

async function main() {
  const argv = process.argv.slice(2)
  const options = parseOptions(argv)
  const only = argv
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',')
  const selected = only ? BENCHES.filter((b) => only.includes(b.name)) : BENCHES
  const started = Date.now()
  const built = ensureBuilt({ force: argv.includes('--build') })
  const mode = options.quick ? 'quick' : 'full'
  console.log(
    `piecework bench (${mode}: ${options.reps} repetition${options.reps === 1 ? '' : 's'} per figure)${built ? ' — rebuilt dist/' : ''}`,
  )
  const childArgs = argv.filter((a) => a === '--quick' || a === '--profile' || a.startsWith('--reps='))

  const rows = []
  const runs = []
  for (const bench of selected) {
    const t0 = Date.now()
    const loadBefore = load1()
    console.log(`\n▶ ${bench.name} (figure ${bench.figures}) — load average ${loadBefore}`)
    const result = await runBench(bench.name, childArgs)
    const seconds = (Date.now() - t0) / 1000
    runs.push({ bench: bench.name, seconds, loadBefore, loadAfter: load1(), error: result.error })
    if (result.error) {
      console.error(`  ✗ ${bench.name} failed:\n${result.error}`)
      rows.push({
        figure: `${bench.name} (figure ${bench.figures})`,
        value: null,
        unit: '',
        target: null,
        skipped: 'FAILED, see above',
      })
    } else {
      rows.push(...result.rows.map((row) => ({ bench: bench.name, ...row })))
    }
    console.log(`  done in ${seconds.toFixed(1)} s`)
  }

  const totalSeconds = (Date.now() - started) / 1000
  const info = machine()
  const loads = runs.flatMap((r) => [r.loadBefore, r.loadAfter])
  console.log(
    `\n${renderTable(rows, { title: `piecework bench — ${mode} mode, ${totalSeconds.toFixed(0)} s`, machine: info })}`,
  )
  console.log(
    `load average over the run: ${Math.min(...loads)}–${Math.max(...loads)} on ${info.cores} cores${Math.max(...loads) > info.cores * 0.75 ? ' (other processes were busy: the figures are pessimistic)' : ''}`,
  )

  const dir = fileURLToPath(new URL('./results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const report = {
    mode,
    reps: options.reps,
    startedAt: new Date(started).toISOString(),
    totalSeconds,
    machine: info,
    benches: runs,
    figures: rows,
  }
  writeFileSync(`${dir}latest.json`, `${JSON.stringify(report, null, 2)}\n`)
  formatLikeTheRepo(`${dir}latest.json`)
  console.log('results: bench/results/latest.json')
  if (runs.some((r) => r.error)) process.exitCode = 1
}

await main()
