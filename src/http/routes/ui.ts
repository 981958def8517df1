// The run monitor's static files (built into dist/ui by scripts/build-ui.mjs), served at `/`. The
// files hold no data: everything the UI shows comes from /api, under its API keys.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, extname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { Hono } from 'hono'
import { errorBody } from '../errors.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/** Scripts and styles from this server only; no inline script, no frame, no other origin. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

interface Asset {
  type: string
  body: Uint8Array
  /** Compressed at the first request that accepts it, not in the server's start. */
  gzip?: Uint8Array
}

/** dist/ui of the package this file belongs to, from the source tree and the compiled one alike. */
export function defaultUiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir)
  return join(dir, 'dist/ui')
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  if (!existsSync(join(dir, 'index.html'))) return assets
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = join(entry.parentPath, entry.name)
    const type = TYPES[extname(file)]
    if (!type) continue
    const body = readFileSync(file)
    assets.set(`/${relative(dir, file).split('\\').join('/')}`, { type, body })
  }
  return assets
}

export function uiRoutes(dir = defaultUiDir()): Hono {
  const app = new Hono()
  const assets = loadAssets(dir)

  const send = (path: string, acceptEncoding: string | undefined) => {
    const asset = assets.get(path)
    if (!asset) return undefined
    const gzip = /\bgzip\b/.test(acceptEncoding ?? '')
    const headers: Record<string, string> = {
      'content-type': asset.type,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      vary: 'accept-encoding',
    }
    if (asset.type.startsWith('text/html')) {
      headers['content-security-policy'] = CSP
      headers['referrer-policy'] = 'no-referrer'
    }
    if (!gzip) return new Response(asset.body, { headers })
    headers['content-encoding'] = 'gzip'
    asset.gzip ??= gzipSync(asset.body)
    return new Response(asset.gzip, { headers })
  }

  app.get('/', (c) => {
    const answer = send('/index.html', c.req.header('accept-encoding'))
    return answer ?? c.json(errorBody('NOT_FOUND', 'the UI is not built: run `npm run build`'), 404)
  })
  app.get('/assets/*', (c) => {
    const answer = send(c.req.path, c.req.header('accept-encoding'))
    return answer ?? c.json(errorBody('NOT_FOUND', `no UI file ${c.req.path}`), 404)
  })
  return app
}
