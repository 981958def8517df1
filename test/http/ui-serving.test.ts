// Serving the run monitor: index.html and its assets at `/` (gzipped when asked), a strict CSP, no
// file from another origin, the budget of the first page's script, and `ui.enabled: false`.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.js'
import { defaultUiDir, uiRoutes } from '../../src/http/routes/ui.js'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl } from '../helpers/db.js'
import { expectError } from './expect-error.js'

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'piecework-ui-'))
  mkdirSync(join(dir, 'assets'))
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><title>t</title><script src="assets/main.js"></script>',
  )
  writeFileSync(join(dir, 'assets/main.js'), `console.log(${JSON.stringify('x'.repeat(5000))})`)
  return dir
}

describe('the UI routes', () => {
  const app = uiRoutes(fakeBuild())

  it('serves index.html at / with a content security policy that allows only this origin', async () => {
    const res = await app.request('/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe')
    expect(await res.text()).toContain('assets/main.js')
  })

  it('serves assets gzipped to a client that takes gzip, and plain otherwise', async () => {
    const gz = await app.request('/assets/main.js', { headers: { 'accept-encoding': 'gzip, br' } })
    expect(gz.headers.get('content-encoding')).toBe('gzip')
    const bytes = new Uint8Array(await gz.arrayBuffer())
    expect(bytes.length).toBeLessThan(1000)
    expect(gunzipSync(bytes).toString()).toContain('console.log')
    const plain = await app.request('/assets/main.js')
    expect(plain.headers.get('content-encoding')).toBeNull()
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect((await plain.text()).length).toBeGreaterThan(5000)
  })

  it('answers 404 in the error shape for an asset it does not have', async () => {
    await expectError(await app.request('/assets/nope.js'), 404, 'NOT_FOUND')
    await expectError(await app.request('/assets/..%2f..%2fpackage.json'), 404, 'NOT_FOUND')
  })

  it('says the UI is not built when its folder is empty', async () => {
    const body = await expectError(await uiRoutes(mkdtempSync(join(tmpdir(), 'none-'))).request('/'), 404)
    expect(body.error.message).toContain('npm run build')
  })
})

describe('the built UI (dist/ui, made by npm run build)', () => {
  const dir = defaultUiDir()
  const file = (path: string) => readFileSync(join(dir, path))

  it('loads no file from another origin', () => {
    const html = file('index.html').toString()
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
    expect(html).toContain('src="assets/main.js"')
  })

  it('keeps the first page within 150 KB of compressed script', () => {
    const js = file('assets/main.js')
    // the entry's static imports are loaded with it; chunks imported on demand are not
    const imports = [
      ...js.toString().matchAll(/(?:^|[;}\n])import\s*(?:[{\w*][^"(]*from\s*)?"\.\/([\w-]+\.js)"/g),
    ].map((m) => m[1]!)
    const total = [js, ...imports.map((name) => file(`assets/${name}`))].reduce(
      (n, b) => n + gzipSync(b).length,
      0,
    )
    expect(total).toBeLessThan(150 * 1024)
  })
})

describe('ui.enabled in the app', () => {
  let engine: Engine

  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
  })

  afterAll(async () => {
    await engine?.close(1_000)
  })

  it('serves the UI at / when enabled and nothing there when not, the API alike', async () => {
    const on = createApp(engine, { apiKeys: [], bodyLimit: 1024, ui: { enabled: true, dir: fakeBuild() } })
    expect((await on.request('/')).status).toBe(200)
    expect((await on.request('/api/v1/workflows')).status).toBe(200)
    const off = createApp(engine, { apiKeys: [], bodyLimit: 1024, ui: { enabled: false, dir: fakeBuild() } })
    await expectError(await off.request('/'), 404, 'NOT_FOUND')
    expect((await off.request('/api/v1/workflows')).status).toBe(200)
  })

  it('keeps the API under its keys while the UI files need none', async () => {
    const keyed = createApp(engine, {
      apiKeys: ['a-key-of-sixteen-chars'],
      bodyLimit: 1024,
      ui: { enabled: true, dir: fakeBuild() },
    })
    expect((await keyed.request('/')).status).toBe(200)
    await expectError(await keyed.request('/api/v1/workflows'), 401, 'UNAUTHORIZED')
  })
})
