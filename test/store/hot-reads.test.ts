// Reads on the hot paths, outside knex's query building: the rows they return, and (on SQLite, where
// they run on knex's own connection) that they never read inside a transaction knex holds open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, HotReads, openDatabase } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

let db: Database
let reads: HotReads

const workflow = (id: string, version: number) => ({
  id,
  name: null,
  current_version: version,
  trigger_kind: 'manual',
  created_at: 1,
  updated_at: 1,
  deleted_at: null,
})

beforeAll(async () => {
  db = await openDatabase(await freshDatabaseUrl())
  reads = new HotReads(db)
  await db.knex('workflows').insert([workflow('a', 1), workflow('b', 2)])
})

afterAll(async () => db?.close())

describe(`hot reads (${TEST_DB})`, () => {
  it('reads rows by a fixed statement with ? placeholders, again and again', async () => {
    const sql = 'select id, current_version from workflows where id = ? or id = ? order by id'
    for (let i = 0; i < 3; i++) {
      const rows = await reads.all<{ id: string; current_version: number | string }>(sql, ['a', 'b'])
      expect(rows.map((r) => [r.id, Number(r.current_version)])).toEqual([
        ['a', 1],
        ['b', 2],
      ])
    }
    expect(await reads.first('select id from workflows where id = ?', ['none'])).toBeUndefined()
  })

  it.runIf(TEST_DB === 'sqlite')(
    'waits for a transaction knex holds open and reads what it committed',
    async () => {
      let read: Promise<unknown> | undefined
      let done = false
      await db.knex.transaction(async (trx) => {
        await trx('workflows').where({ id: 'a' }).update({ current_version: 7 })
        read = reads.first('select current_version from workflows where id = ?', ['a']).then((row) => {
          done = true
          return row
        })
        for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
        expect(done).toBe(false)
      })
      expect(Number(((await read) as { current_version: number }).current_version)).toBe(7)
    },
  )
})
