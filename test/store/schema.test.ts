// An in-memory database is opened without the ORM, its schema made by the migrations' statements at
// once: it must be the very schema that MikroORM's migrator makes in a SQLite file, table by table
// and index by index, and it must hold what the engine writes. A database that lasts loads the
// migrator only when a migration is pending, so finding the pending ones must be right.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MikroORM } from '@mikro-orm/core'
import { afterAll, describe, expect, it } from 'vitest'
import { MIGRATIONS } from '../../src/store/migrations/index.js'
import { type Database, openDatabase, ormOptions } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

const SCHEMA = `select type, name, tbl_name, sql from sqlite_master
  where name not like 'sqlite_%' and tbl_name <> 'piecework_migrations' order by type, name`

const opened: Database[] = []
async function open(url: string): Promise<Database> {
  const db = await openDatabase(url)
  opened.push(db)
  return db
}

afterAll(async () => {
  for (const db of opened) await db.close()
})

describe('the in-memory schema', () => {
  it('is the schema the migrator makes in a file, table by table and index by index', async () => {
    const file = await open(`sqlite:${join(mkdtempSync(join(tmpdir(), 'piecework-')), 'schema.db')}`)
    const memory = await open('sqlite::memory:')
    const inFile = await file.knex.raw(SCHEMA)
    const inMemory = await memory.knex.raw(SCHEMA)
    expect(inFile.length).toBeGreaterThan(10)
    expect(inMemory).toEqual(inFile)
  })

  it('has foreign keys on and answers the hot reads on its one connection', async () => {
    const memory = await open(':memory:')
    expect(await memory.knex.raw('pragma foreign_keys')).toEqual([{ foreign_keys: 1 }])
    await memory.knex('workflows').insert({
      id: 'a',
      current_version: 1,
      trigger_kind: 'manual',
      created_at: 1,
      updated_at: 1,
    })
    expect(memory.sqlite?.prepare('select id from workflows').all()).toEqual([{ id: 'a' }])
  })
})

describe(`migrating (${TEST_DB})`, () => {
  it('brings a database that lacks the last migration up to date, and opens an up-to-date one as it is', async () => {
    const url = await freshDatabaseUrl()
    const names = MIGRATIONS.map((m) => m.name)
    const behind = await MikroORM.init(await ormOptions(url))
    await behind.getMigrator().up({ to: names.at(-2) })
    await behind.close(true)

    const db = await open(url)
    const applied = async () =>
      (await db.knex('piecework_migrations').select('name').orderBy('id')).map(
        (row: { name: string }) => row.name,
      )
    expect(await applied()).toEqual(names)
    // the last migration's index is there
    const index =
      TEST_DB === 'sqlite'
        ? "select name from sqlite_master where type = 'index' and name = 'runs_created_at_id_index'"
        : "select indexname as name from pg_indexes where indexname = 'runs_created_at_id_index'"
    const found = await db.knex.raw(index)
    expect(TEST_DB === 'sqlite' ? found : found.rows).toEqual([{ name: 'runs_created_at_id_index' }])
    await db.close()
    opened.pop()
    const again = await open(url)
    const counted = await again.knex('piecework_migrations').count({ n: '*' })
    expect(Number(counted[0]?.n)).toBe(names.length)
  })
})
