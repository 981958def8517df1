// The one error family of piecework: every failure has a code, says whether trying again may help,
// and crosses thread boundaries as a plain object that is rebuilt on the other side.

export type ErrorLevel = 'info' | 'warning' | 'error'

export interface Problem {
  path: string
  message: string
}

/** How an error travels between threads, into checkpoints and over HTTP. */
export interface ErrorShape {
  name: string
  code: string
  message: string
  retryable: boolean
  retryAfterMs?: number
  details?: unknown
}

const BRAND = Symbol.for('piecework.EngineError')

export interface EngineErrorOptions {
  retryable?: boolean
  level?: ErrorLevel
  details?: unknown
  retryAfterMs?: number
  cause?: unknown
}

export class EngineError extends Error {
  readonly [BRAND] = true
  readonly code: string
  readonly retryable: boolean
  readonly level: ErrorLevel
  readonly details?: unknown
  readonly retryAfterMs?: number

  constructor(code: string, message: string, options: EngineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'EngineError'
    this.code = code
    this.retryable = options.retryable ?? false
    this.level = options.level ?? 'error'
    this.details = options.details
    this.retryAfterMs = options.retryAfterMs
  }

  toShape(): ErrorShape {
    const shape: ErrorShape = {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
    }
    if (this.retryAfterMs !== undefined) shape.retryAfterMs = this.retryAfterMs
    if (this.details !== undefined) shape.details = this.details
    return shape
  }
}

/** Works across realms and module copies, unlike `instanceof`. */
export function isEngineError(value: unknown): value is EngineError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
}

/** Bad input from a user: a definition, a request body, a config file. */
export class ValidationError extends EngineError {
  readonly problems: Problem[]
  constructor(message: string, problems: Problem[] = []) {
    super('VALIDATION', message, { level: 'info', details: problems })
    this.name = 'ValidationError'
    this.problems = problems
  }
}

export class NotFoundError extends EngineError {
  constructor(message: string) {
    super('NOT_FOUND', message, { level: 'info' })
    this.name = 'NotFoundError'
  }
}

export class ConflictError extends EngineError {
  constructor(message: string, details?: unknown) {
    super('CONFLICT', message, { level: 'info', details })
    this.name = 'ConflictError'
  }
}

/** A start with an id that a run has already. */
export class RunExistsError extends ConflictError {
  constructor(readonly runId: string) {
    super(`run '${runId}' exists already`)
  }
}

/** The answer to a start of a paused workflow's run. */
export function pausedError(workflowId: string): ConflictError {
  return new ConflictError(
    `workflow '${workflowId}' is paused: it starts no runs until it is resumed (POST /api/v1/workflows/${workflowId}/resume)`,
  )
}

/** A piece's own failure. Retryable unless the piece says trying again cannot help. */
export class PieceError extends EngineError {
  constructor(code: string, message: string, options: EngineErrorOptions = {}) {
    super(code, message, { level: 'warning', retryable: true, ...options })
    this.name = 'PieceError'
  }
}

/** A failure that no retry can mend (bad props, an output that breaks its schema, ...). */
export class TerminalError extends PieceError {
  constructor(code: string, message: string, options: EngineErrorOptions = {}) {
    super(code, message, { ...options, retryable: false })
    this.name = 'TerminalError'
  }
}

/** Turns anything thrown into an ErrorShape; unknown throws keep their message under `fallbackCode`. */
export function toErrorShape(error: unknown, fallbackCode = 'INTERNAL'): ErrorShape {
  if (isEngineError(error)) return error.toShape()
  if (error instanceof Error)
    return { name: error.name, code: fallbackCode, message: error.message, retryable: true }
  return { name: 'Error', code: fallbackCode, message: String(error), retryable: true }
}

export function fromErrorShape(shape: ErrorShape): EngineError {
  const error = new EngineError(shape.code, shape.message, {
    retryable: shape.retryable,
    details: shape.details,
    retryAfterMs: shape.retryAfterMs,
  })
  error.name = shape.name
  return error
}
