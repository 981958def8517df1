// WAL checkpoints of a SQLite file move off the engine's thread once it has written a while: a
// worker's connection copies the WAL into the database file, and the engine's connection only
// checkpoints by itself past a far larger WAL.
import { statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CheckpointWriter, checkpointExecutor } from '../../src/store/checkpoints.js'
import { parseDatabaseUrl } from '../../src/store/database-url.js'
import { openDatabase } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { runRow, stepRow } from '../helpers/rows.js'
import { until } from '../helpers/until.js'

describe.runIf(TEST_DB === 'sqlite')('WAL checkpoints off the engine thread (sqlite)', () => {
  it('are taken over by a worker once the engine has written a while, and stop with the database', async () => {
    const url = await freshDatabaseUrl()
    const file = parseDatabaseUrl(url).location
    const db = await openDatabase(url)
    const writer = new CheckpointWriter(checkpointExecutor(db, 'me'))
    const wal = db.walCheckpoints!
    const autocheckpoint = () =>
      (db.sqlite!.pragma('wal_autocheckpoint') as { wal_autocheckpoint: number }[])[0]
    // a run with many steps, written a batch at a time
    let batch = 0
    const writeSteps = async (count: number) => {
      for (let i = 0; i < count; i += 500, batch++) {
        const id = `run-${batch}`
        await writer.write({
          newRuns: [runRow(id, { status: 'running' })],
          steps: Array.from({ length: 500 }, (_, n) => stepRow(id, `s${n}`, 'succeeded', { output: '"x"' })),
        })
      }
    }
    try {
      await writeSteps(2_000)
      // a little written: SQLite checkpoints by itself, as ever
      expect(wal.running).toBe(false)
      expect(autocheckpoint()?.wal_autocheckpoint).toBe(1_000)
      await writeSteps(10_000)
      expect(wal.running).toBe(true)
      expect(autocheckpoint()?.wal_autocheckpoint).toBe(16_000)
      // what is written from now on reaches the database file by the worker's checkpoints, well
      // before the engine's connection would checkpoint by itself (16,000 pages, ~64 MB)
      const before = statSync(file).size
      await writeSteps(5_000)
      await until('the database file to grow by a checkpoint', 5_000, () => statSync(file).size > before, 20)
      expect(statSync(`${file}-wal`).size).toBeLessThan(16_000 * 4096)
    } finally {
      await writer.drain()
      await db.close()
    }
  })

  it('never starts for a database in memory', async () => {
    const db = await openDatabase('sqlite::memory:')
    try {
      expect(db.walCheckpoints).toBeUndefined()
    } finally {
      await db.close()
    }
  })
})
