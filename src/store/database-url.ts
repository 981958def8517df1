// Which database a URL names: `sqlite:<file>`, `sqlite::memory:` (or `:memory:`), `postgres://…`.
import { ValidationError } from '../errors.js'

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
