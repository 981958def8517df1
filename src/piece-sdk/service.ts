// Calling a JSON HTTP service from a piece: one request, its failures turned into step errors that
// say whether trying again may help (408, 429 and 5xx may; other 4xx may not), with the service's
// own error message and its Retry-After.
import { PieceError, TerminalError } from '../errors.js'
import type { ActionContext } from './define.js'

export interface ServiceRequest {
  /** The service's name, for messages: `AI Orchestrator`. */
  service: string
  baseUrl: string
  /** Joined to the base URL: `/v1/chat/completions`. */
  path: string
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
  body?: unknown
  headers?: Record<string, string>
  signal: AbortSignal
}

export interface ServiceResponse {
  status: number
  headers: Headers
  body: unknown
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429
}

/**
 * `fetch` and the whole body as text. Fails the attempt with `TIMEOUT` when the signal aborts it and
 * with `NETWORK` when the server cannot be reached or the answer breaks off; `where` names the call.
 */
export async function fetchText(
  url: URL,
  init: RequestInit & { signal: AbortSignal },
  where: string,
): Promise<{ response: Response; text: string }> {
  try {
    const response = await fetch(url, init)
    return { response, text: await response.text() }
  } catch (error) {
    if (init.signal.aborted) throw new PieceError('TIMEOUT', `${where} timed out`)
    const cause = (error as { cause?: { message?: string } }).cause?.message
    throw new PieceError('NETWORK', `${where} failed: ${cause ?? (error as Error).message}`)
  }
}

/** `base` + `path` with exactly one slash between them; the base may carry a path prefix. */
export function serviceUrl(baseUrl: string, path: string): URL {
  return new URL(`${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`)
}

/** The service's own words from an error body: `{ error: { message, code } }`, `{ message }`, or text. */
function serviceMessage(body: unknown): { message?: string; code?: string } {
  if (typeof body === 'string') return { message: body.slice(0, 500) || undefined }
  if (typeof body !== 'object' || body === null) return {}
  const error = (body as { error?: unknown }).error ?? body
  if (typeof error === 'string') return { message: error }
  if (typeof error !== 'object' || error === null) return {}
  const { message, code } = error as { message?: unknown; code?: unknown }
  return {
    message: typeof message === 'string' ? message : undefined,
    code: typeof code === 'string' ? code : undefined,
  }
}

/**
 * Sends the request with a JSON body and answers the parsed JSON response. Fails the attempt with
 * `TIMEOUT`, `NETWORK`, `HTTP_<status>` or `INVALID_RESPONSE`.
 */
export async function callService(request: ServiceRequest): Promise<ServiceResponse> {
  const method = request.method ?? 'POST'
  const url = serviceUrl(request.baseUrl, request.path)
  const where = `${request.service} (${method} ${url.pathname})`
  const headers = new Headers(request.headers)
  headers.set('accept', 'application/json')
  let body: string | undefined
  if (request.body !== undefined) {
    body = JSON.stringify(request.body)
    headers.set('content-type', 'application/json')
  }
  const { response, text } = await fetchText(url, { method, headers, body, signal: request.signal }, where)
  let parsed: unknown = text.length > 0 ? text : null
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text)
    } catch {
      if (response.ok)
        throw new PieceError(
          'INVALID_RESPONSE',
          `${where} answered ${response.status} with a body that is not JSON`,
          {
            details: { status: response.status, body: text.slice(0, 500) },
          },
        )
    }
  }
  if (!response.ok) {
    const said = serviceMessage(parsed)
    const message = `${where} answered ${response.status}${said.message ? `: ${said.message}` : ''}`
    const options = {
      retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      details: { status: response.status, ...(said.code ? { serviceCode: said.code } : {}), body: parsed },
    }
    const code = `HTTP_${response.status}`
    throw isRetryableStatus(response.status)
      ? new PieceError(code, message, options)
      : new TerminalError(code, message, options)
  }
  return { status: response.status, headers: response.headers, body: parsed }
}

/**
 * A call to the service the piece is configured for: its base URL, its key (`apiKey` or `token`)
 * as a bearer token when one is set, the step's idempotency key and abort signal.
 */
export function callConfiguredService(
  ctx: ActionContext<unknown>,
  request: Pick<ServiceRequest, 'service' | 'path' | 'method' | 'body'>,
): Promise<ServiceResponse> {
  const { baseUrl, apiKey, token } = ctx.credentials ?? {}
  if (!baseUrl) throw new TerminalError('NOT_CONFIGURED', `${request.service}: no base URL is configured`)
  const bearer = apiKey ?? token
  return callService({
    ...request,
    baseUrl,
    headers: {
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      'idempotency-key': ctx.idempotencyKey,
    },
    signal: ctx.signal,
  })
}
