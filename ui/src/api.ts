// Talking to piecework's API: the key kept for this browser session only (never in a URL), errors
// in the API's shape, and the run events read from a fetch stream (EventSource cannot send a key).

const KEY = 'piecework.apiKey'

export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
}

/** An answer that is not 2xx, with the API's `{ error: { code, message, details } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** Fired on every 401, so that the app asks for a key. */
export const UNAUTHORIZED_EVENT = 'piecework:unauthorized'

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' }
  const key = apiKey.get()
  if (key) h.authorization = `Bearer ${key}`
  if (json) h['content-type'] = 'application/json'
  return h
}

async function failure(response: Response): Promise<ApiError> {
  const text = await response.text()
  let error: { code?: string; message?: string; details?: unknown } = {}
  try {
    error = JSON.parse(text).error ?? {}
  } catch {
    // not our JSON shape (a proxy's page): the status says enough
  }
  if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT))
  return new ApiError(
    response.status,
    error.code ?? `HTTP_${response.status}`,
    error.message ?? (text.slice(0, 200) || response.statusText),
    error.details,
  )
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers: headers(init.body !== undefined),
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  if (!response.ok) throw await failure(response)
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T)
}

/** `path?query` with the defined values of `params`. */
export function withQuery(path: string, params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

/**
 * Reads a Server-Sent Events stream until it ends or `signal` aborts; `onEvent` gets each event's
 * name and parsed data.
 */
export async function readEvents(
  path: string,
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch(path, { headers: { ...headers(false), accept: 'text/event-stream' }, signal })
  if (!response.ok || !response.body) throw await failure(response)
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      dispatch(buffer.slice(0, end), onEvent)
      buffer = buffer.slice(end + 2)
      end = buffer.indexOf('\n\n')
    }
  }
}

function dispatch(block: string, onEvent: (event: string, data: unknown) => void) {
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim()
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
  }
  if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')))
}
