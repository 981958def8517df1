// Opens the database named by a URL (`sqlite:<file>`, `sqlite::memory:`, `postgres://…`) through
// MikroORM, with the engine's entities and migrations.

import type { MikroORM, Options } from '@mikro-orm/core'
import type { Knex } from '@mikro-orm/knex'
import { Migrator } from '@mikro-orm/migrations'
import { ValidationError } from '../errors.js'
import { ENTITIES } from './entities.js'
import { openFailure } from './faults.js'
import { Migration0001Initial } from './migrations/0001-initial.js'
import { Migration0002Leases } from './migrations/0002-leases.js'
import { Migration0003ScheduleFires } from './migrations/0003-schedule-fires.js'
import { Migration0004StepInterruptions } from './migrations/0004-step-interruptions.js'
import { Migration0005LeaseEpoch } from './migrations/0005-lease-epoch.js'
import { Migration0006CancelRequests } from './migrations/0006-cancel-requests.js'
import { Migration0007RunRetention } from './migrations/0007-run-retention.js'
import { Migration0008LoopsChildrenSignals } from './migrations/0008-loops-children-signals.js'
import { Migration0009Secrets } from './migrations/0009-secrets.js'
import { Migration0010WebhookIdsPauses } from './migrations/0010-webhook-ids-pauses.js'
import { Migration0011RunsCreatedAt } from './migrations/0011-runs-created-at.js'

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

export const MIGRATIONS = [
  { name: '0001-initial', class: Migration0001Initial },
  { name: '0002-leases', class: Migration0002Leases },
  { name: '0003-schedule-fires', class: Migration0003ScheduleFires },
  { name: '0004-step-interruptions', class: Migration0004StepInterruptions },
  { name: '0005-lease-epoch', class: Migration0005LeaseEpoch },
  { name: '0006-cancel-requests', class: Migration0006CancelRequests },
  { name: '0007-run-retention', class: Migration0007RunRetention },
  { name: '0008-loops-children-signals', class: Migration0008LoopsChildrenSignals },
  { name: '0009-secrets', class: Migration0009Secrets },
  { name: '0010-webhook-ids-pauses', class: Migration0010WebhookIdsPauses },
  { name: '0011-runs-created-at', class: Migration0011RunsCreatedAt },
]

export async function ormOptions(url: string): Promise<Options> {
  const target = parseDatabaseUrl(url)
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
