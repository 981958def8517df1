// Opens the database named by a URL (`sqlite:<file>`, `sqlite::memory:`, `postgres://…`) as a knex
// instance: the engine's reads and writes are knex's and its drivers'. MikroORM holds the entities
// and the migrations, and runs them when the schema is behind; an in-memory database (what
// `piecework run` uses) gets the same migrations' statements at once.

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Options } from '@mikro-orm/core'
import type { Knex } from '@mikro-orm/knex'
import { ValidationError } from '../errors.js'
import { openFailure } from './faults.js'

export type DatabaseKind = 'sqlite' | 'postgres'

export interface DatabaseTarget {
  kind: DatabaseKind
  /** A file path or `:memory:` for SQLite; the connection URL for PostgreSQL. */
  location: string
}

export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return { kind: 'postgres', location: url }
  if (url === ':memory:') return { kind: 'sqlite', location: ':memory:' }
  if (url.startsWith('sqlite:')) {
    const location = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (location) return { kind: 'sqlite', location }
  }
  throw new ValidationError(`database.url '${url}' is not sqlite:<file>, sqlite::memory: or postgres://…`, [
    { path: 'database.url', message: 'expected sqlite:<file>, sqlite::memory: or postgres://…' },
  ])
}

/**
 * MikroORM's options: the entities, the driver, and the migrator with the engine's migrations, each
 * wrapped in MikroORM's Migration. What its CLI and tools use (mikro-orm.config.ts), and what brings
 * a database's schema up to date.
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

const MIGRATIONS_TABLE = 'piecework_migrations'

/**
 * Brings the schema up to date through MikroORM's migrator, which records each migration in
 * `piecework_migrations`. The ORM and its migrator (a good half of a start's module loading) load
 * only when a migration is pending: a new database, or one older than this version. A server
 * restarting on its own database reads the table once and goes on.
 */
async function migrate(url: string, knex: Knex): Promise<void> {
  const { MIGRATIONS } = await import('./migrations/index.js')
  const applied = (await knex.schema.hasTable(MIGRATIONS_TABLE))
    ? new Set((await knex(MIGRATIONS_TABLE).select('name')).map((row: { name: string }) => row.name))
    : new Set<string>()
  if (MIGRATIONS.every(({ name }) => applied.has(name))) return
  const { MikroORM } = await import('@mikro-orm/core')
  const orm = await MikroORM.init(await ormOptions(url))
  try {
    await orm.getMigrator().up()
  } finally {
    await orm.close(true)
  }
}

/** The part of a `better-sqlite3` connection that the checkpoint writer uses. */
export interface SqliteConnection {
  /** Whether a transaction is open on the connection (knex's own, too). */
  readonly inTransaction: boolean
  prepare(sql: string): {
    run(...bindings: unknown[]): unknown
    all(...bindings: unknown[]): unknown[]
  }
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R
}

/** Statement texts named so far: one name per text for the whole process, so that a connection never sees a name twice. */
const pgNames = new Map<string, string>()
/** Texts named at most; beyond, statements go unnamed (parsed each time). */
const MAX_PG_NAMES = 512

/**
 * Runs one statement on a connection of knex's PostgreSQL pool, without knex's query building.
 * The statement is named after its text, so each connection prepares it once.
 */
export async function pgQuery<Row>(knex: Knex, text: string, values: unknown[]): Promise<Row[]> {
  let name = pgNames.get(text)
  if (!name && pgNames.size < MAX_PG_NAMES) {
    name = `piecework_${pgNames.size + 1}`
    pgNames.set(text, name)
  }
  const client = (await knex.client.acquireConnection()) as {
    query(query: { name?: string; text: string; values: unknown[] }): Promise<{ rows: Row[] }>
  }
  try {
    return (await client.query({ name, text, values })).rows
  } finally {
    await knex.client.releaseConnection(client)
  }
}

/**
 * Hot reads outside knex's query building: a prepared statement on SQLite's one connection, a named
 * statement (prepared once per connection) on PostgreSQL. `sql` takes `?` placeholders and is one of
 * a few fixed texts. While knex holds a transaction open on the SQLite connection (a deploy, a
 * claim), the read goes through knex, which waits for it to end.
 */
export class HotReads {
  private readonly statements = new Map<string, ReturnType<SqliteConnection['prepare']>>()

  constructor(private readonly db: Pick<Database, 'knex' | 'sqlite'>) {}

  async all<Row>(sql: string, values: unknown[]): Promise<Row[]> {
    const { sqlite, knex } = this.db
    if (!sqlite) {
      let n = 0
      return pgQuery<Row>(
        knex,
        sql.replace(/\?/g, () => `$${++n}`),
        values,
      )
    }
    if (sqlite.inTransaction) return (await knex.raw(sql, values as Knex.RawBinding[])) as Row[]
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = sqlite.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement.all(...values) as Row[]
  }

  async first<Row>(sql: string, values: unknown[]): Promise<Row | undefined> {
    return (await this.all<Row>(sql, values))[0]
  }

  /**
   * `column` is one of `values`, as a condition whose text does not depend on how many there are
   * (so that it is prepared once) and its one parameter: a JSON array on SQLite, an array on
   * PostgreSQL.
   */
  anyOf(column: string, values: readonly string[]): { sql: string; value: unknown } {
    return this.db.sqlite
      ? { sql: `${column} in (select value from json_each(?))`, value: JSON.stringify(values) }
      : { sql: `${column} = any(?::text[])`, value: values }
  }
}

export interface Database {
  kind: DatabaseKind
  knex: Knex
  /** SQLite only: knex's one connection, for statements run synchronously outside knex. */
  sqlite?: SqliteConnection
  close(): Promise<void>
}

/**
 * Connects, tunes SQLite for durability with speed (WAL), and brings the schema up to date; a
 * database that cannot be reached fails with DATABASE_UNREACHABLE.
 */
export async function openDatabase(url: string, options: { migrate?: boolean } = {}): Promise<Database> {
  try {
    return await connect(url, options)
  } catch (error) {
    throw openFailure(error, url)
  }
}

async function connect(url: string, options: { migrate?: boolean }): Promise<Database> {
  const target = parseDatabaseUrl(url)
  if (target.location === ':memory:') return openInMemory()
  const { default: createKnex } = await import('knex')
  if (target.kind === 'postgres') {
    const knex = createKnex({ client: 'pg', connection: target.location, pool: { min: 1, max: 10 } })
    try {
      await knex.raw('select 1')
      if (options.migrate !== false) await migrate(url, knex)
    } catch (error) {
      await knex.destroy()
      throw error
    }
    return { kind: 'postgres', knex, close: () => knex.destroy() }
  }
  mkdirSync(dirname(target.location), { recursive: true })
  const knex = createKnex({
    client: 'better-sqlite3',
    connection: { filename: target.location },
    useNullAsDefault: true,
  })
  try {
    const sqlite = await tuneSqlite(knex)
    if (options.migrate !== false) await migrate(url, knex)
    return { kind: 'sqlite', knex, sqlite, close: () => knex.destroy() }
  } catch (error) {
    await knex.destroy()
    throw error
  }
}

/**
 * WAL, durable at each checkpoint with speed, foreign keys on (as MikroORM's connection sets them);
 * returns knex's one connection, which stays open.
 */
async function tuneSqlite(knex: Knex): Promise<SqliteConnection> {
  await knex.raw('pragma journal_mode = WAL')
  await knex.raw('pragma synchronous = NORMAL')
  await knex.raw('pragma busy_timeout = 5000')
  await knex.raw('pragma foreign_keys = on')
  const sqlite = (await knex.client.acquireConnection()) as SqliteConnection
  await knex.client.releaseConnection(sqlite)
  return sqlite
}

/**
 * An in-memory SQLite database: nothing in it outlives the process, so there is no history of
 * migrations to keep, and the ORM's migrator (a third of `piecework run`'s start) would only make
 * the schema, which the migrations' statements make alike at once (test/store/schema.test.ts).
 */
async function openInMemory(): Promise<Database> {
  const [{ default: createKnex }, { MIGRATIONS }] = await Promise.all([
    import('knex'),
    import('./migrations/index.js'),
  ])
  const knex = createKnex({
    client: 'better-sqlite3',
    connection: { filename: ':memory:' },
    useNullAsDefault: true,
  })
  const sqlite = await tuneSqlite(knex)
  const statements: string[] = []
  for (const { class: Schema } of MIGRATIONS) statements.push(...(await new Schema().statements(knex)))
  sqlite.transaction(() => {
    for (const sql of statements) sqlite.prepare(sql).run()
  })()
  return { kind: 'sqlite', knex, sqlite, close: () => knex.destroy() }
}
