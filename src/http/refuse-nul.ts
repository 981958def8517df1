// A NUL character (`%00`) in a request's path or query is refused before any id reaches the
// database: PostgreSQL rejects it in text, and SQLite's driver cuts the logged SQL at it.
import type { MiddlewareHandler } from 'hono'
import { type Problem, ValidationError } from '../errors.js'

const MESSAGE = 'must not hold a NUL character (%00)'

export function refuseNul(): MiddlewareHandler {
  return async (c, next) => {
    // a NUL can reach a URL only percent-encoded
    if (!/%00/i.test(c.req.url)) return next()
    const url = new URL(c.req.url)
    const problems: Problem[] = []
    if (/%00/i.test(url.pathname)) problems.push({ path: 'path', message: MESSAGE })
    for (const [name, value] of url.searchParams) {
      if (name.includes('\0') || value.includes('\0'))
        problems.push({ path: `query.${JSON.stringify(name).slice(1, -1)}`, message: MESSAGE })
    }
    if (problems.length === 0) problems.push({ path: '$', message: MESSAGE })
    throw new ValidationError(`ids and query values ${MESSAGE}`, problems)
  }
}
