// Figure 17 — what the lease fence costs a checkpoint commit. The same batch (two step rows and a
// run patch for each of 1 or 16 held runs, as group commit joins them under load) is committed by
// the engine's own executor one commit at a time, with the fence (written only while this process
// holds each run with its epoch: a row lock on PostgreSQL, a check in the transaction on SQLite)
// and without it, alternated in one process.
import { randomUUID } from 'node:crypto'
import { batchOf, checkpointExecutor } from '../dist/src/store/checkpoints.js'
import { openDatabase } from '../dist/src/store/orm.js'
import { benchDatabases, LABEL, withDatabase } from './lib/db.mjs'
import { log, runIfMain } from './lib/harness.mjs'
import { median, now } from './lib/stats.mjs'

const RUNS = 64
const BATCHES = [1, 16]

async function onDatabase(kind, { quick }, width) {
  return withDatabase(kind, async (target) => {
    const db = await openDatabase(target.url)
    try {
      const owner = randomUUID()
      const executor = checkpointExecutor(db, owner)
      const at = Date.now()
      const ids = Array.from({ length: RUNS }, (_, i) => `run-${i}`)
      await executor.commit(
        batchOf({
          newRuns: ids.map((id) => ({
            id,
            workflow_id: 'fence',
            workflow_version: 1,
            status: 'running',
            input: '{}',
            created_at: at,
            owner,
            lease_until: at + 3_600_000,
          })),
        }),
      )
      const epochs = new Map(
        (await db.knex('runs').select('id', 'lease_epoch')).map((r) => [r.id, Number(r.lease_epoch)]),
      )
      let n = 0
      const batch = (first, fenced) => {
        const held = Array.from({ length: width }, (_, k) => ids[(first + k) % RUNS])
        return batchOf({
          steps: held.flatMap((id) =>
            ['a', 'b'].map((step) => ({
              run_id: id,
              step_id: step,
              status: 'succeeded',
              attempts: 1,
              interruptions: 0,
              handle: 'out',
              output: JSON.stringify({ n: n++ }),
              error: null,
              wake_at: null,
              started_at: at,
              finished_at: at,
            })),
          ),
          runs: held.map((id) => ({ id, status: 'running' })),
          fences: fenced ? new Map(held.map((id) => [id, epochs.get(id)])) : new Map(),
        })
      }
      const commits = async (fenced, count) => {
        const times = []
        for (let i = 0; i < count; i++) {
          const t = now()
          const refused = await executor.commit(batch(i * width, fenced))
          if (refused.size > 0) throw new Error('a fenced commit was refused: the bench holds every run')
          times.push((now() - t) * 1000)
        }
        return times
      }
      await commits(true, 200)
      await commits(false, 200)
      const count = quick ? 300 : 2_000
      const fenced = []
      const plain = []
      // alternated, so that neither side has the quieter half of the run
      for (let round = 0; round < 4; round++) {
        fenced.push(...(await commits(true, count / 4)))
        plain.push(...(await commits(false, count / 4)))
      }
      const withFence = median(fenced)
      const without = median(plain)
      const runs = width === 1 ? '1 run' : `${width} runs`
      log(
        `${LABEL[kind]}, ${runs}: commit p50 ${withFence.toFixed(0)} µs fenced, ${without.toFixed(0)} µs not`,
      )
      return {
        figure: `lease fence, added to a checkpoint commit of ${runs} (p50, ${LABEL[kind]})`,
        value: withFence - without,
        unit: 'µs',
        target: null,
        notes: `commit p50 ${withFence.toFixed(0)} µs fenced, ${without.toFixed(0)} µs without (${(withFence / without).toFixed(2)}×), ${count} each`,
        how: 'batches of 2 step rows and a run patch for each of 1 or 16 held runs, committed one at a time by the checkpoint executor with and without its fence, alternated in 4 rounds',
      }
    } finally {
      await db.close()
    }
  })
}

export async function fence(options) {
  const rows = []
  for (const kind of await benchDatabases())
    for (const width of BATCHES) rows.push(await onDatabase(kind, options, width))
  return rows
}

await runIfMain(import.meta.url, fence)
