// Which database errors mean "the database is away for now" (a connection cut, a server restarting,
// a full disk) rather than "these rows are wrong": the first kind is waited out and tried again,
// the second fails the writes that caused it. Pure, so that each code is a row of a table test.

import { EngineError } from '../errors.js'

/** PostgreSQL SQLSTATE classes and codes that say nothing about the statement itself. */
const PG_TRANSIENT = [
  /^08/, // connection exception
  /^57P0[1-3]$/, // admin shutdown, crash shutdown, cannot connect now
  /^53/, // insufficient resources: disk full, out of memory, too many connections
  /^40001$/, // serialization failure
  /^40P01$/, // deadlock detected
]

const SQLITE_TRANSIENT = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|PROTOCOL|NOMEM)/

const NODE_TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTCONN',
  'EHOSTUNREACH',
])

/** Messages of the pg client and knex's pool when a connection is gone or cannot be had. */
const MESSAGES =
  /Connection terminated|connection is closed|Client has encountered a connection error|Timeout acquiring a connection|terminating connection/i

export function isTransientFault(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const code = String((error as { code?: unknown }).code ?? '')
  if (PG_TRANSIENT.some((pattern) => pattern.test(code))) return true
  if (SQLITE_TRANSIENT.test(code)) return true
  if (NODE_TRANSIENT.has(code)) return true
  return MESSAGES.test(String((error as { message?: unknown }).message ?? ''))
}

/** Errors of opening a database that say it cannot be reached or opened, whatever the statement. */
const OPEN_FAILURES =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|EACCES|28P01|28000|3D000|57P03|SQLITE_CANTOPEN|SQLITE_NOTADB|SQLITE_PERM|SQLITE_READONLY)$/

/** A database URL fit for a message: its password left out. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

/** What opening the database at `url` failed with, as one clear line when it could not be reached. */
export function openFailure(error: unknown, url: string): unknown {
  const code = String((error as { code?: unknown } | null)?.code ?? '')
  if (!OPEN_FAILURES.test(code)) return error
  const message = String((error as { message?: unknown }).message ?? code)
  return new EngineError('DATABASE_UNREACHABLE', `cannot open the database at ${redactUrl(url)}: ${message}`)
}
