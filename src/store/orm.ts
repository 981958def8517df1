// Opens the database named by a URL (`sqlite:<file>`, `sqlite::memory:`, `postgres://…`) through
// MikroORM, with the engine's entities and migrations.

import type { MikroORM, Options } from '@mikro-orm/core'
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

export async function ormOptions(url: string): Promise<Options> {
  const target = parseDatabaseUrl(url)
  // loaded here, not at the top: the migrations (umzug and its many modules) load only once a
  // database opens, after `piecework run` has started its sandbox processes on the other core
  const [{ Migrator }, { ENTITIES }, { MIGRATIONS }] = await Promise.all([
    import('@mikro-orm/migrations'),
    import('./entities.js'),
    import('./migrations/index.js'),
  ])
  const common: Options = {
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      snapshot: false,
      transactional: true,
      silent: true,
      tableName: 'piecework_migrations',
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
  orm: MikroORM
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
  const { MikroORM } = await import('@mikro-orm/core')
  const orm = await MikroORM.init(await ormOptions(url))
  const kind = parseDatabaseUrl(url).kind
  const knex = (orm.em as unknown as { getKnex(): Knex }).getKnex()
  let sqlite: SqliteConnection | undefined
  if (kind === 'sqlite') {
    await knex.raw('pragma journal_mode = WAL')
    await knex.raw('pragma synchronous = NORMAL')
    await knex.raw('pragma busy_timeout = 5000')
    // knex keeps a single connection to a SQLite database: this is it, and it stays open
    sqlite = (await knex.client.acquireConnection()) as SqliteConnection
    await knex.client.releaseConnection(sqlite)
  }
  if (options.migrate !== false) await orm.getMigrator().up()
  return { kind, orm, knex, sqlite, close: () => orm.close(true) }
}
