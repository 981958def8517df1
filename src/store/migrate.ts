// Keeps a database's schema up to date. The migrations (./migrations) are knex schema builders;
// MikroORM's migrator runs them on a database that has some of them, and records each in
// `piecework_migrations`. A new database (a new file, an empty PostgreSQL database, an in-memory
// one) gets them all at once in one transaction, recorded in the same table made the migrator's
// way, so that the ORM is loaded only for a database older than this version: MikroORM and its
// migrator are more than half of the modules a start would load. test/store/schema.test.ts holds the
// two ways to the same schema and the same record.

import type { Options } from '@mikro-orm/core'
import type { Knex } from '@mikro-orm/knex'
import { type DatabaseKind, parseDatabaseUrl } from './database-url.js'

type Migrations = typeof import('./migrations/index.js')['MIGRATIONS']

const MIGRATIONS_TABLE = 'piecework_migrations'
/** The schema MikroORM's migrator keeps its table in on PostgreSQL (its platform's default). */
const PG_SCHEMA = 'public'
/** The PostgreSQL advisory lock that makes one of several processes making a new database wait. */
const SCHEMA_LOCK = 7_242_617_100

/**
 * MikroORM's options: the entities, the driver, and the migrator with the engine's migrations, each
 * wrapped in MikroORM's Migration. What its CLI and tools use (mikro-orm.config.ts), and what brings
 * an older database's schema up to date.
 */
export async function ormOptions(url: string): Promise<Options> {
  const target = parseDatabaseUrl(url)
  const [{ Migration, Migrator }, { ENTITIES }, { MIGRATIONS }] = await Promise.all([
    import('@mikro-orm/migrations'),
    import('./entities.js'),
    import('./migrations/index.js'),
  ])
  const common: Options = {
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS.map(({ name, class: Schema }) => ({
        name,
        class: class extends Migration {
          override async up(): Promise<void> {
            for (const sql of await new Schema().statements(this.getKnex())) this.addSql(sql)
          }
        },
      })),
      snapshot: false,
      transactional: true,
      silent: true,
      tableName: MIGRATIONS_TABLE,
    },
    allowGlobalContext: false,
    debug: false,
    discovery: { warnWhenNoEntities: false },
  }
  if (target.kind === 'postgres') {
    const { PostgreSqlDriver } = await import('@mikro-orm/postgresql')
    return { ...common, driver: PostgreSqlDriver, clientUrl: target.location, pool: { min: 1, max: 10 } }
  }
  const { BetterSqliteDriver } = await import('@mikro-orm/better-sqlite')
  return { ...common, driver: BetterSqliteDriver, dbName: target.location }
}

/**
 * Where MikroORM's migrator keeps its table: PostgreSQL's default schema; SQLite has none, and
 * knex's `withSchema` takes none as no schema (its type says string).
 */
const tableSchema = (kind: DatabaseKind) => (kind === 'postgres' ? PG_SCHEMA : undefined) as string

/** The migrations a database has, or undefined when it has no table of them: a new database. */
async function applied(knex: Knex | Knex.Transaction, kind: DatabaseKind): Promise<Set<string> | undefined> {
  const schema = tableSchema(kind)
  if (!(await knex.schema.withSchema(schema).hasTable(MIGRATIONS_TABLE))) return undefined
  const rows = await knex(MIGRATIONS_TABLE).withSchema(schema).select('name')
  return new Set(rows.map((row: { name: string }) => row.name))
}

/**
 * Every migration at once, in one transaction, and their record, unless another process made the
 * schema first (then false).
 */
async function createSchema(knex: Knex, kind: DatabaseKind, migrations: Migrations): Promise<boolean> {
  return knex.transaction(async (trx) => {
    if (kind === 'postgres') await trx.raw('select pg_advisory_xact_lock(?)', [SCHEMA_LOCK])
    if ((await applied(trx, kind)) !== undefined) return false
    for (const { class: Schema } of migrations) {
      for (const sql of await new Schema().statements(trx)) await trx.raw(sql)
    }
    // the table as MikroORM's migrator makes it (its MigrationStorage.ensureTable)
    const schema = tableSchema(kind)
    await trx.schema.withSchema(schema).createTable(MIGRATIONS_TABLE, (table) => {
      table.increments()
      table.string('name')
      table.dateTime('executed_at').defaultTo(trx.fn.now())
    })
    await trx(MIGRATIONS_TABLE)
      .withSchema(schema)
      .insert(migrations.map(({ name }) => ({ name })))
    return true
  })
}

/**
 * Brings the schema up to date: a new database gets every migration at once; a database with every
 * migration (a server restarting on its own database, the usual start) is read once and left; one
 * with some of them is migrated by MikroORM's migrator, which loads only then.
 */
export async function migrate(url: string, knex: Knex, kind: DatabaseKind): Promise<void> {
  const { MIGRATIONS } = await import('./migrations/index.js')
  const has = await applied(knex, kind)
  if (has === undefined && (await createSchema(knex, kind, MIGRATIONS))) return
  const now = has ?? (await applied(knex, kind))
  if (MIGRATIONS.every(({ name }) => now?.has(name))) return
  const { MikroORM } = await import('@mikro-orm/core')
  const orm = await MikroORM.init(await ormOptions(url))
  try {
    await orm.getMigrator().up()
  } finally {
    await orm.close(true)
  }
}
