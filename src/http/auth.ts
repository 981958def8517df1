// API keys: kept only as SHA-256 hashes, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { HttpError } from './errors.js'

const hash = (key: string) => createHash('sha256').update(key).digest()

export function apiKeyAuth(keys: string[]): MiddlewareHandler {
  const hashes = keys.map(hash)
  return async (c, next) => {
    if (hashes.length === 0) return next()
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(.+)$/i.exec(header)
    if (!match) throw new HttpError('UNAUTHORIZED', 'this API needs an Authorization: Bearer <key> header')
    const given = hash(match[1]!.trim())
    let ok = false
    for (const h of hashes) ok = timingSafeEqual(h, given) || ok
    if (!ok) throw new HttpError('UNAUTHORIZED', 'the API key is not valid')
    return next()
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host)
}
