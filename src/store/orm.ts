// Opens the database named by a URL (`sqlite:<file>`, `sqlite::memory:`, `postgres://…`) as a knex
// instance: the engine's reads and writes are knex's and its drivers'. Its schema is brought up to
// date by migrate.ts.

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Knex } from '@mikro-orm/knex'
import { type DatabaseKind, parseDatabaseUrl } from './database-url.js'
import { openFailure } from './faults.js'
import { migrate } from './migrate.js'
import { WalCheckpoints } from './wal-checkpoints.js'

/** The part of a `better-sqlite3` connection that the checkpoint writer uses. */
export interface SqliteConnection {
  /** Whether a transaction is open on the connection (knex's own, too). */
  readonly inTransaction: boolean
  /** The file, and whether the database is in memory instead. */
  readonly name: string
  readonly memory: boolean
  pragma(text: string): unknown
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
  /** SQLite file only: its WAL checkpoints, moved off the engine's thread once it writes (wal-checkpoints.ts). */
  walCheckpoints?: WalCheckpoints
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
  const { kind, location } = parseDatabaseUrl(url)
  // an in-memory database is new at each open: it always gets its schema
  const inMemory = location === ':memory:'
  if (kind === 'sqlite' && !inMemory) mkdirSync(dirname(location), { recursive: true })
  const { knex: createKnex } = await import('../vendor/knex.js')
  const knex = createKnex(
    kind === 'postgres'
      ? { client: 'pg', connection: location, pool: { min: 1, max: 10 } }
      : { client: 'better-sqlite3', connection: { filename: location }, useNullAsDefault: true },
  )
  try {
    const sqlite = kind === 'sqlite' ? await tuneSqlite(knex) : undefined
    if (options.migrate !== false || inMemory) await migrate(url, knex, kind)
    // connect now all the same: an unreachable database fails at its open
    else if (!sqlite) await knex.raw('select 1')
    const walCheckpoints = sqlite && !sqlite.memory ? new WalCheckpoints(sqlite) : undefined
    const close = async () => {
      await walCheckpoints?.close()
      await knex.destroy()
    }
    return { kind, knex, sqlite, walCheckpoints, close }
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
