// The one place where errors become HTTP answers: `{ error: { code, message, details } }` with a
// status that fits. Client mistakes never become a 500.
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { EngineError, isEngineError } from '../errors.js'
import { isTransientFault } from '../store/faults.js'

const STATUS: Record<string, ContentfulStatusCode> = {
  VALIDATION: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  NOT_READY: 503,
}

export class HttpError extends EngineError {
  constructor(code: keyof typeof STATUS, message: string, details?: unknown) {
    super(code, message, { level: 'info', details })
    this.name = 'HttpError'
  }
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } }
}

export function statusFor(error: unknown): ContentfulStatusCode {
  if (isEngineError(error)) return STATUS[error.code] ?? 500
  if (error instanceof HTTPException) return error.status as ContentfulStatusCode
  return isTransientFault(error) ? 503 : 500
}

export function handleError(error: unknown, c: Context, report: (error: unknown) => void): Response {
  if (isEngineError(error)) {
    const status = STATUS[error.code] ?? 500
    if (status === 500) report(error)
    return c.json(errorBody(error.code, error.message, error.details), status)
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode
    const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 401 ? 'UNAUTHORIZED' : 'BAD_REQUEST'
    return c.json(errorBody(code, error.message || 'bad request'), status)
  }
  // the database is away for a moment (a connection cut, a full disk): not a fault of this request
  if (isTransientFault(error)) {
    return c.json(errorBody('NOT_READY', `the database is not available: ${(error as Error).message}`), 503)
  }
  report(error)
  return c.json(errorBody('INTERNAL', 'an unexpected error happened on the server'), 500)
}
