// One engine process per SQLite file. A file shared by two processes would have both resume the same
// runs (SQLite has no leases between processes here), so the second is refused before it writes
// anything. The lock is SQLite's own exclusive lock on a small file beside the database: the
// operating system lets go of it when the process ends, however it ends, so a killed process never
// leaves a stale lock behind. Readers of the database itself are not held up.
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { EngineError } from '../errors.js'
import { parseDatabaseUrl } from './database-url.js'

/** The little of a better-sqlite3 connection that holding a lock takes. */
interface LockConnection {
  readonly open: boolean
  pragma(text: string): unknown
  exec(sql: string): void
  close(): void
}
type Connect = new (file: string, options: { timeout: number }) => LockConnection
const Sqlite = createRequire(import.meta.url)('better-sqlite3') as Connect

export class DatabaseInUseError extends EngineError {
  constructor(file: string) {
    super(
      'DATABASE_IN_USE',
      `the SQLite file ${file} is in use by another piecework process: one process per SQLite file (stop the other, or use PostgreSQL to run several)`,
    )
  }
}

/** The lock file of a SQLite database file. */
export const lockFileOf = (file: string) => `${file}.lock`

/**
 * Takes the file's lock for as long as this process lives (or until the returned function is
 * called); throws DatabaseInUseError when another process holds it. Nothing for PostgreSQL or an
 * in-memory database.
 */
export function lockSqliteFile(url: string): () => void {
  const { kind, location } = parseDatabaseUrl(url)
  if (kind !== 'sqlite' || location === ':memory:') return () => {}
  mkdirSync(dirname(location), { recursive: true })
  const lock = new Sqlite(lockFileOf(location), { timeout: 0 })
  try {
    // the journal in memory: the lock leaves no `-journal` file beside it
    lock.pragma('journal_mode = MEMORY')
    lock.pragma('locking_mode = EXCLUSIVE')
    // a write transaction left open holds the file's exclusive lock until the connection closes
    lock.exec('begin exclusive')
  } catch (error) {
    lock.close()
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new DatabaseInUseError(location)
    throw error
  }
  return () => {
    if (!lock.open) return
    lock.exec('rollback')
    lock.close()
  }
}
