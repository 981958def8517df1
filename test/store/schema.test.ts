// A new database (a file, an empty PostgreSQL database, an in-memory one) gets every migration at
// once without the ORM; an older one is migrated by MikroORM's migrator. The two ways must make the
// very same schema, table by table and index by index, and the same record of migrations, which
// the migrator reads as its own; and finding what is pending must be right, since the migrator
// loads only then.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MikroORM } from '@mikro-orm/core'
import { afterAll, describe, expect, it } from 'vitest'
import { ormOptions } from '../../src/store/migrate.js'
import { MIGRATIONS } from '../../src/store/migrations/index.js'
import { type Database, openDatabase } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

const NAMES = MIGRATIONS.map((m) => m.name)

const opened: Database[] = []
async function open(url: string): Promise<Database> {
  const db = await openDatabase(url)
  opened.push(db)
  return db
}

afterAll(async () => {
  for (const db of opened) await db.close()
})

/** Every table's and index's definition, in an order that does not depend on how they were made. */
async function schemaOf(db: Database): Promise<unknown> {
  if (db.kind === 'sqlite') {
    return db.knex.raw(
      "select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by type, name",
    )
  }
  const columns = await db.knex.raw(`select table_name, column_name, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = 'public' order by table_name, column_name`)
  const indexes = await db.knex.raw(
    "select indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname",
  )
  return { columns: columns.rows, indexes: indexes.rows }
}

/** The database at `url` with the migrator's first `count` migrations, made by MikroORM's migrator. */
async function migratedByTheOrm(url: string, count = NAMES.length): Promise<void> {
  const orm = await MikroORM.init(await ormOptions(url))
  await orm.getMigrator().up({ to: NAMES[count - 1] })
  await orm.close(true)
}

/** What MikroORM's migrator finds in the database at `url`: done and pending. */
async function asTheOrmSees(url: string): Promise<{ executed: string[]; pending: string[] }> {
  const orm = await MikroORM.init(await ormOptions(url))
  try {
    const migrator = orm.getMigrator()
    return {
      executed: (await migrator.getExecutedMigrations()).map((m) => m.name),
      pending: (await migrator.getPendingMigrations()).map((m) => m.name),
    }
  } finally {
    await orm.close(true)
  }
}

describe(`a new database (${TEST_DB})`, () => {
  it("gets at once the schema and the record that MikroORM's migrator makes one migration at a time", async () => {
    const byTheOrm = await freshDatabaseUrl()
    await migratedByTheOrm(byTheOrm)
    const atOnce = await freshDatabaseUrl()
    const made = await open(atOnce)
    const reference = await open(byTheOrm)
    const schema = await schemaOf(reference)
    expect(JSON.stringify(schema)).toContain('runs_created_at_id_index')
    expect(await schemaOf(made)).toEqual(schema)
    expect(await asTheOrmSees(atOnce)).toEqual({ executed: NAMES, pending: [] })
  })

  it.runIf(TEST_DB === 'sqlite')('in memory, too, with foreign keys on', async () => {
    const file = await open(`sqlite:${join(mkdtempSync(join(tmpdir(), 'piecework-')), 'schema.db')}`)
    const memory = await open('sqlite::memory:')
    expect(await schemaOf(memory)).toEqual(await schemaOf(file))
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

  it.runIf(TEST_DB === 'postgres')('is made once when two processes open it at the same time', async () => {
    const url = await freshDatabaseUrl()
    const [a, b] = await Promise.all([open(url), open(url)])
    expect(await schemaOf(a)).toEqual(await schemaOf(b))
    expect(await asTheOrmSees(url)).toEqual({ executed: NAMES, pending: [] })
  })
})

describe(`an older database (${TEST_DB})`, () => {
  it('is brought up to date by the migrator, and opened as it is once it is', async () => {
    const url = await freshDatabaseUrl()
    await migratedByTheOrm(url, NAMES.length - 1)
    expect((await asTheOrmSees(url)).pending).toEqual(NAMES.slice(-1))

    const db = await open(url)
    expect(await asTheOrmSees(url)).toEqual({ executed: NAMES, pending: [] })
    const reference = await freshDatabaseUrl()
    await migratedByTheOrm(reference)
    expect(await schemaOf(db)).toEqual(await schemaOf(await open(reference)))

    const recorded = async () => Number((await db.knex('piecework_migrations').count({ n: '*' }))[0]?.n)
    const before = await recorded()
    await open(url)
    expect(await recorded()).toBe(before)
  })
})
