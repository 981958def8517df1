// The request as Node received it, for the webhook route's hot path. Hono's Web request builds a
// Headers object and reads the body through promises of its own: about 15 µs a request that Node's
// request answers directly. Where there is no Node request (`app.request()`), or the body's length
// is not declared (the body limit then counts it as it streams, through Hono's request), Hono's
// request is read instead; both give the same headers and the same bytes.
import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'

/** The Node request behind a context served by @hono/node-server. */
function incomingOf(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
}

/**
 * The request's headers as a Web `Headers` gives them (lower-case names in order, a repeated
 * header's values joined by ", "), but those named in `omit`.
 */
export function requestHeaders(c: Context, omit: ReadonlySet<string>): Record<string, string> {
  const incoming = incomingOf(c)
  if (!incoming) return Object.fromEntries(Object.entries(c.req.header()).filter(([name]) => !omit.has(name)))
  const raw = incoming.rawHeaders
  const joined = new Map<string, string>()
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    // HTTP/2's pseudo-headers (`:path`) are not headers
    if (omit.has(name) || name.startsWith(':')) continue
    const before = joined.get(name)
    joined.set(name, before === undefined ? raw[i + 1]! : `${before}, ${raw[i + 1]}`)
  }
  return Object.fromEntries([...joined].sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** The body's length as the request declares it (Content-Length, not chunked); undefined if it does not. */
export function declaredLength(c: Context): number | undefined {
  const incoming = incomingOf(c)
  const header = incoming ? (name: string) => incoming.headers[name] : (name: string) => c.req.header(name)
  const length = header('content-length')
  return length === undefined || header('transfer-encoding') !== undefined ? undefined : Number(length)
}

/** The request's body. */
export function requestBody(c: Context): Promise<Uint8Array> {
  const incoming = incomingOf(c)
  if (!incoming || declaredLength(c) === undefined || incoming.readableDidRead)
    return c.req.arrayBuffer().then((buffer) => new Uint8Array(buffer))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    incoming.once('error', reject)
    incoming.once('close', () => {
      if (!incoming.readableEnded) reject(new Error('the client closed the connection before its body ended'))
    })
  })
}
