// The remote commands' connection to a running server: a typed client of the OpenAPI document
// (openapi-fetch over the generated types), its server and API key, and its answers unwrapped into
// data or one clear error whose exit code says whose fault it is.
import createClient from 'openapi-fetch'
import type { paths } from '../../http/api-types.gen.js'
import { DEFAULT_SERVER } from './server.js'

export type ApiClient = ReturnType<typeof createClient<paths>>

export interface RemoteOptions {
  server?: string
  output: 'table' | 'json'
}

/** A failure of a remote command: `exit` 2 for the caller's mistake (a 4xx), 1 for the rest. */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly exit: 1 | 2,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message)
    this.name = 'RemoteError'
  }
}

export interface Connection {
  api: ApiClient
  server: string
}

/** `--server`, else `PIECEWORK_SERVER_URL`, else the local default; the key from `PIECEWORK_API_KEY`. */
export function connect(options: Pick<RemoteOptions, 'server'>, env = process.env): Connection {
  const server = (options.server ?? env.PIECEWORK_SERVER_URL ?? DEFAULT_SERVER).replace(/\/+$/, '')
  let url: URL
  try {
    url = new URL(server)
  } catch {
    throw new RemoteError(`--server '${server}' is not a URL (like ${DEFAULT_SERVER})`, 2)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RemoteError(`--server '${server}' must be an http:// or https:// URL`, 2)
  const key = env.PIECEWORK_API_KEY?.trim()
  const api = createClient<paths>({
    baseUrl: server,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    fetch: (request) =>
      fetch(request).catch((error: Error & { cause?: { code?: string; message?: string } }) => {
        const why = error.cause?.code ?? error.cause?.message ?? error.message
        throw new RemoteError(`cannot reach the server at ${server} (${why})`, 1)
      }),
  })
  return { api, server }
}

interface Answer<T> {
  data?: T
  error?: unknown
  response: Response
}

/** The answer's data, or a RemoteError made of the API's error body. */
export async function unwrap<T>(answer: Answer<T> | Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await answer
  if (response.ok) return data as T
  const body = (error as { error?: { code?: string; message?: string; details?: unknown } })?.error
  const message = body?.message ?? `${response.status} ${response.statusText}`
  const details = Array.isArray(body?.details) ? (body.details as { path: string; message: string }[]) : []
  const hint =
    response.status === 401
      ? process.env.PIECEWORK_API_KEY
        ? ' (check PIECEWORK_API_KEY)'
        : ' (set PIECEWORK_API_KEY)'
      : ''
  const exit = response.status >= 400 && response.status < 500 ? 2 : 1
  throw new RemoteError(`${body?.code ? `${body.code}: ` : ''}${message}${hint}`, exit, details)
}
