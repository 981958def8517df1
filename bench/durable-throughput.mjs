// Figure 2 — durable steps per second: 200 runs of 20 data.set steps in a line, started together
// in process, on a SQLite file (WAL) and on PostgreSQL. Every step is checkpointed; what many runs
// checkpoint at once may share a transaction (group commit).
import { Engine } from '../dist/src/runtime/engine.js'
import { benchDatabases, LABEL, withDatabase } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { profileWindow } from './lib/profile.mjs'
import { median, now } from './lib/stats.mjs'
import { chain } from './lib/workflows.mjs'

const RUNS = 200
const STEPS = 20
const TARGET = { sqlite: 20_000, postgres: 8_000 }

async function burst(engine, runs) {
  const before = { ...engine.checkpointStats }
  const started = now()
  const ids = await Promise.all(
    Array.from({ length: runs }, (_, n) => engine.startRun('line', { n }).then((r) => r.id)),
  )
  const ended = await Promise.all(ids.map((id) => engine.getRun(id, 2 ** 31 - 1)))
  const ms = now() - started
  const failed = ended.filter((r) => r.status !== 'succeeded')
  if (failed.length)
    throw new Error(`${failed.length} runs did not succeed: ${JSON.stringify(failed[0].error)}`)
  const commits = engine.checkpointStats.commits - before.commits
  const rows = engine.checkpointStats.rows - before.rows
  return { ms, stepsPerSecond: (runs * STEPS * 1000) / ms, commits, rowsPerCommit: rows / commits }
}

async function onDatabase(kind, reps) {
  return withDatabase(kind, async (db) => {
    const engine = await Engine.open({ databaseUrl: db.url })
    try {
      await engine.start()
      await engine.deploy(chain('line', STEPS))
      // warm-up, not measured: workers, connections, and the JIT on a burst of the measured size
      await burst(engine, 10)
      await burst(engine, RUNS)
      const results = []
      let vacuumed = false
      const stopProfile = await profileWindow(`durable-throughput-${kind}`)
      for (let rep = 0; rep < reps; rep++) {
        vacuumed = (await db.maintain()) || vacuumed
        const r = await burst(engine, RUNS)
        results.push(r)
        log(
          `${LABEL[kind]} rep ${rep + 1}/${reps}: ${RUNS * STEPS} steps in ${r.ms.toFixed(0)} ms = ${r.stepsPerSecond.toFixed(0)}/s, ${r.commits} commits (${r.rowsPerCommit.toFixed(1)} rows each)`,
        )
      }
      const profile = await stopProfile()
      if (profile) log(`profile: ${profile}`)
      const value = median(results.map((r) => r.stepsPerSecond))
      const mid = results.find((r) => r.stepsPerSecond === value) ?? results[0]
      return {
        figure: `durable steps/s (${RUNS} runs × ${STEPS} steps, ${kind === 'sqlite' ? 'SQLite file WAL' : 'PostgreSQL'})`,
        value,
        unit: '/s',
        target: { op: '>=', value: TARGET[kind] },
        samples: results.map((r) => r.stepsPerSecond),
        notes: `${(mid.ms / 1000).toFixed(2)} s a burst; ${mid.commits} commits, ${mid.rowsPerCommit.toFixed(1)} rows per commit${vacuumed ? '; autovacuum is off: VACUUM before each rep' : ''}`,
        how: '4,000 steps / wall time from the first startRun to the last of the 200 runs ending',
        extra: results,
      }
    } finally {
      await engine.close()
    }
  })
}

export async function durableThroughput({ reps }) {
  const kinds = await benchDatabases()
  const rows = []
  for (const kind of kinds) rows.push(await onDatabase(kind, reps))
  if (!kinds.includes('postgres')) {
    rows.push({
      figure: 'durable steps/s (PostgreSQL)',
      value: null,
      unit: '/s',
      target: { op: '>=', value: TARGET.postgres },
      skipped: 'PostgreSQL does not answer',
    })
  }
  return rows
}

await runIfMain(import.meta.url, durableThroughput)
