// Figure 18 — what a person feels at the command line: `piecework validate` and `piecework run` of
// the example hello.yaml from process start to exit, with `node -e 0` timed beside them (the three
// alternated), `piecework serve` from spawn to its first /health 200 on a fresh SQLite file, and the
// resident memory of the idle serve process tree (the process and its sandbox processes).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { log, runIfMain } from './lib/harness.mjs'
import { BIN, ROOT, Server } from './lib/server.mjs'
import { median, now, sleep } from './lib/stats.mjs'

const HELLO = join(ROOT, 'config/workflows/hello.yaml')
const TIMES = 5

/** Wall time of one process from spawn to exit; it must exit 0. */
function timeProcess(args) {
  return new Promise((resolve, reject) => {
    const started = now()
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.once('exit', (code) => {
      const ms = now() - started
      if (code === 0) resolve(ms)
      else reject(new Error(`node ${args.join(' ')} exited with ${code}:\n${stderr}`))
    })
  })
}

/** Resident memory of a process and every process under it, from /proc (Linux). */
function treeRssBytes(pid) {
  const children = (p) => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
    } catch {
      return []
    }
  }
  const rss = (p) => {
    try {
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))
      return match ? Number(match[1]) * 1024 : 0
    } catch {
      return 0
    }
  }
  let total = 0
  let processes = 0
  const queue = [pid]
  while (queue.length > 0) {
    const p = queue.shift()
    total += rss(p)
    processes++
    queue.push(...children(p))
  }
  return { bytes: total, processes }
}

async function commandLine() {
  const commands = {
    node: ['-e', '0'],
    validate: [BIN, 'validate', HELLO],
    run: [BIN, 'run', HELLO, '--input', '{"name":"Ada"}'],
  }
  const times = { node: [], validate: [], run: [] }
  // one of each first: the file system cache holds the modules for every timed start
  for (const args of Object.values(commands)) await timeProcess(args)
  for (let i = 0; i < TIMES; i++)
    for (const [name, args] of Object.entries(commands)) times[name].push(await timeProcess(args))
  const m = Object.fromEntries(Object.entries(times).map(([name, ms]) => [name, median(ms)]))
  log(
    `node -e 0 ${m.node.toFixed(0)} ms, validate ${m.validate.toFixed(0)} ms, run ${m.run.toFixed(0)} ms (medians of ${TIMES})`,
  )
  const node = `node -e 0 ${m.node.toFixed(0)} ms beside it`
  return [
    {
      figure: 'piecework validate hello.yaml, process start to exit',
      value: m.validate,
      unit: 'ms',
      target: { op: '<=', value: 200 },
      samples: times.validate,
      notes: `${node} (${(m.validate / m.node).toFixed(1)}×)`,
      how: `piecework validate / run config/workflows/hello.yaml: wall time from spawn to exit, median of ${TIMES}, alternated with node -e 0 after one untimed start of each`,
    },
    {
      figure: 'piecework run hello.yaml, process start to exit',
      value: m.run,
      unit: 'ms',
      target: { op: '<=', value: 300 },
      samples: times.run,
      notes: `${node} (${(m.run / m.node).toFixed(1)}×); an in-memory SQLite database, the run's steps and its output`,
    },
  ]
}

async function serve({ quick }) {
  const hello = parse(readFileSync(HELLO, 'utf8'))
  const ready = []
  const restarted = []
  const rss = []
  for (let i = 0; i < (quick ? 2 : TIMES); i++) {
    const server = new Server({ databaseUrl: 'sqlite:piecework.db', workflows: [hello], name: 'startup' })
    try {
      const { spawnedAt, healthyAt } = await server.start()
      ready.push(healthyAt - spawnedAt)
      // idle: whatever the start left to do in the background is done
      await sleep(2_000)
      rss.push(treeRssBytes(server.child.pid))
      // the usual start: a server restarting on the database it made
      await server.stop()
      const again = await server.start()
      restarted.push(again.healthyAt - again.spawnedAt)
    } finally {
      await server.close()
    }
  }
  const mb = (bytes) => bytes / 2 ** 20
  const readyMs = median(ready)
  const restartMs = median(restarted)
  const rssMb = median(rss.map((r) => mb(r.bytes)))
  log(
    `serve: /health after ${readyMs.toFixed(0)} ms (${restartMs.toFixed(0)} ms restarting on its database), idle tree RSS ${rssMb.toFixed(0)} MB`,
  )
  return [
    {
      figure: 'piecework serve, spawn to the first /health 200',
      value: readyMs,
      unit: 'ms',
      target: { op: '<=', value: 400 },
      samples: ready,
      notes: 'a new SQLite file, the example workflow deployed from the workflows folder',
      how: 'serve: from spawn until GET /health first answers 200 (polled every 10 ms), a fresh database each time, then again after SIGTERM on the database it made; idle RSS: VmRSS of the serve process and every process under it (its sandbox processes), 2 s after /health',
    },
    {
      figure: 'piecework serve restarting, spawn to the first /health 200',
      value: restartMs,
      unit: 'ms',
      target: { op: '<=', value: 400 },
      samples: restarted,
      notes: 'the SQLite file it made, its schema up to date, the example workflow unchanged',
    },
    {
      figure: 'piecework serve, idle RSS of the process tree',
      value: rssMb,
      unit: 'MB',
      target: { op: '<=', value: 120 },
      samples: rss.map((r) => mb(r.bytes)),
      notes: `${median(rss.map((r) => r.processes))} processes`,
    },
  ]
}

export async function startup(options) {
  return [...(await commandLine(options)), ...(await serve(options))]
}

await runIfMain(import.meta.url, startup)
