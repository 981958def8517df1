// /api/v1/secrets: named secrets, write-only. A PUT stores a value sealed (AES-256-GCM); answers
// give names and dates, never a value. Secrets of the configuration are listed but read-only here.
import { Hono } from 'hono'
import type { Engine } from '../../runtime/engine.js'
import type { SecretInfo } from '../../secrets/vault.js'
import { check, readBody } from '../body.js'
import { SecretBody, SecretNameParam } from '../secret-schemas.js'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function secretView(info: SecretInfo) {
  return {
    name: info.name,
    source: info.source,
    createdAt: iso(info.createdAt),
    updatedAt: iso(info.updatedAt),
  }
}

export function secretRoutes(engine: Engine): Hono {
  const app = new Hono()
  const nameOf = (name: string) => check(SecretNameParam, name, 'the secret name')

  app.get('/', async (c) =>
    c.json({ items: (await engine.secrets.list()).map(secretView), nextCursor: null }),
  )

  app.put('/:name', async (c) => {
    const name = nameOf(c.req.param('name'))
    const { value } = check(SecretBody, await readBody(c), 'the secret')
    const { info, created } = await engine.secrets.put(name, value)
    return c.json(secretView(info), created ? 201 : 200)
  })

  app.delete('/:name', async (c) => {
    await engine.secrets.delete(nameOf(c.req.param('name')))
    return c.body(null, 204)
  })

  return app
}
