// Databases for the benches: a SQLite file in a fresh temporary folder, or a fresh PostgreSQL
// database on PIECEWORK_BENCH_PG_URL (created for one bench and dropped after it).
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export const PG_URL = process.env.PIECEWORK_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A SQLite file (WAL: the engine sets it) in its own folder; `remove()` deletes the folder. */
export function sqliteFile() {
  const dir = mkdtempSync(join(tmpdir(), 'piecework-bench-'))
  const file = join(dir, 'bench.db')
  return {
    kind: 'sqlite',
    url: `sqlite:${file}`,
    file,
    maintain: async () => false,
    remove: async () => rmSync(dir, { recursive: true, force: true }),
  }
}

let pgAnswers
/** Whether PostgreSQL answers on PG_URL (asked once per process). */
export async function postgresAvailable() {
  pgAnswers ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1_500 })
    try {
      await client.connect()
      await client.query('select 1')
      return true
    } catch {
      return false
    } finally {
      await client.end().catch(() => {})
    }
  })()
  return pgAnswers
}

/**
 * What autovacuum does on a server configured as shipped, for a server that runs without it: a
 * `VACUUM ANALYZE` of the bench's own database, between repetitions. Without it every repetition
 * works on the dead row versions of all the ones before it. Resolves whether it vacuumed.
 */
async function vacuumWithoutAutovacuum(url) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query('show autovacuum')
    if (rows[0]?.autovacuum === 'on') return false
    await client.query('vacuum analyze')
    return true
  } finally {
    await client.end()
  }
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A new, empty PostgreSQL database; `remove()` drops it (closing what still holds it). */
export async function postgresDatabase() {
  const name = `pw_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  await admin(`create database ${name}`)
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  return {
    kind: 'postgres',
    url: url.toString(),
    name,
    maintain: () => vacuumWithoutAutovacuum(url.toString()),
    remove: () => admin(`drop database if exists ${name} with (force)`),
  }
}

/** The databases a bench runs on: SQLite always, PostgreSQL when it answers. */
export async function benchDatabases() {
  return (await postgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite']
}

export const LABEL = { sqlite: 'SQLite', postgres: 'PostgreSQL' }

/** Makes a fresh database of `kind`, hands it to `fn`, and removes it whatever happens. */
export async function withDatabase(kind, fn) {
  const db = kind === 'sqlite' ? sqliteFile() : await postgresDatabase()
  try {
    return await fn(db)
  } finally {
    await db.remove().catch((error) => console.error(`could not remove the bench database: ${error.message}`))
  }
}

/**
 * The PostgreSQL rows of a bench that measures them in full mode only (--quick must stay short):
 * what `measure()` resolves with, or one row that says why there is none.
 */
export async function postgresInFullMode({ quick }, figure, measure) {
  if (!quick && (await postgresAvailable())) return measure()
  const skipped = quick ? 'full mode only' : 'PostgreSQL does not answer'
  return [{ figure: `${figure} (PostgreSQL)`, value: null, unit: '', target: null, skipped }]
}
