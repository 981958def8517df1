// `{{ expression }}` templates in props: compiled once when a definition is validated, evaluated
// when a step's props are resolved. A string that is exactly one `{{ }}` keeps the value's type;
// otherwise each expression is interpolated as text. Expressions run on the engine's own thread, so
// each evaluation is bounded in time, depth, sequence length and result size.
import { type JsonataExpression, jsonata } from '../vendor/jsonata.js'
import { compileDirect, type DirectExpression } from './direct-expression.js'
import { EVALUATE, plainPath, readPlainPath } from './plain-path.js'

export interface ExpressionLimits {
  /** Wall time of one evaluation; 0 turns the budget off. */
  timeoutMs: number
  /** JSONata evaluation frames (about three per level of a recursive function). */
  maxDepth: number
  /** Items in any one sequence, the result's or an intermediate one. */
  maxSequence: number
  /** The result's size as JSON. */
  maxResultBytes: number
}

export const EXPRESSION_LIMITS: ExpressionLimits = {
  // `evaluate` only yields microtasks: the budget is how long one expression may freeze the engine
  timeoutMs: 100,
  maxDepth: 500,
  // A range (`[1..n]`) is allocated in one step, between two checks of the time budget, so only
  // this cap bounds its memory: 100,000 numbers are under 1 MB. Anything that really walks that many
  // items spends most of the 100 ms budget doing so (mapping 90,000 items to objects takes longer).
  maxSequence: 100_000,
  maxResultBytes: 4 * 1024 * 1024,
}

/** The defaults, with whatever is given (and not undefined) on top. */
export function expressionLimits(given: Partial<ExpressionLimits> = {}): ExpressionLimits {
  return {
    timeoutMs: given.timeoutMs ?? EXPRESSION_LIMITS.timeoutMs,
    maxDepth: given.maxDepth ?? EXPRESSION_LIMITS.maxDepth,
    maxSequence: given.maxSequence ?? EXPRESSION_LIMITS.maxSequence,
    maxResultBytes: given.maxResultBytes ?? EXPRESSION_LIMITS.maxResultBytes,
  }
}

export type Expression = {
  source: string
  compiled: JsonataExpression
  limits: ExpressionLimits
  /** The names of a plain path (`input.name`): read without JSONata where that is the same. */
  path?: string[]
  /** Any other shape evaluated without JSONata where that is the same (`$merge([input, {...}])`). */
  direct?: DirectExpression
}

export type Template =
  | { kind: 'literal'; value: unknown }
  | { kind: 'expression'; expression: Expression }
  | { kind: 'text'; parts: (string | Expression)[] }
  | { kind: 'object'; entries: [string, Template][] }
  | { kind: 'array'; items: Template[] }

export class ExpressionSyntaxError extends Error {
  constructor(
    readonly source: string,
    readonly path: string,
    reason: string,
  ) {
    super(`expression "${source}" does not parse: ${reason}`)
  }
}

export class ExpressionEvalError extends Error {
  constructor(
    readonly source: string,
    reason: string,
    /** What a function of the scope threw (`$secret` of an unknown name), to keep its code. */
    cause?: unknown,
  ) {
    super(`expression "${source}" failed: ${reason}`, cause === undefined ? undefined : { cause })
  }
}

export type ExpressionLimit = 'timeout' | 'maxDepth' | 'maxSequence' | 'maxResultBytes'

/** An evaluation stopped by one of its bounds; the message names the bound and its config key. */
export class ExpressionLimitError extends ExpressionEvalError {
  constructor(
    source: string,
    readonly limit: ExpressionLimit,
    exceeded: string,
  ) {
    super(source, exceeded)
    this.message = `expression "${source}" ${exceeded} (expressions.${limit})`
  }
}

/** Splits text into literal runs and `{{ }}` sources; braces inside the expression may nest. */
export function splitTemplate(text: string): (string | { source: string })[] {
  const parts: (string | { source: string })[] = []
  let at = 0
  while (at < text.length) {
    const open = text.indexOf('{{', at)
    if (open < 0) break
    const close = findClose(text, open + 2)
    if (close < 0) break
    if (open > at) parts.push(text.slice(at, open))
    parts.push({ source: text.slice(open + 2, close).trim() })
    at = close + 2
  }
  if (at < text.length) parts.push(text.slice(at))
  return parts
}

function findClose(text: string, from: number): number {
  let depth = 0
  let quote: string | undefined
  for (let i = from; i < text.length; i++) {
    const c = text[i]
    if (quote) {
      if (c === '\\') i++
      else if (c === quote) quote = undefined
    } else if (c === '"' || c === "'" || c === '`') quote = c
    else if (c === '{') depth++
    else if (c === '}') {
      if (depth === 0 && text[i + 1] === '}') return i
      depth = Math.max(0, depth - 1)
    }
  }
  return -1
}

function compileExpression(source: string, path: string, limits: ExpressionLimits): Expression {
  const guardrails = { timeout: limits.timeoutMs, stack: limits.maxDepth, sequence: limits.maxSequence }
  let compiled: JsonataExpression
  try {
    compiled = jsonata(source, guardrails)
  } catch (error) {
    throw new ExpressionSyntaxError(source, path, (error as Error).message)
  }
  // typed as taking a name, but JSONata keys its bindings by any property key
  compiled.assign(EVALUATE_EXIT as unknown as string, stringGuard(limits.maxResultBytes))
  const ast = compiled.ast() as Parameters<typeof plainPath>[0]
  const names = plainPath(ast)
  if (names) return { source, compiled, limits, path: names }
  const direct = compileDirect(ast, {
    maxChars: limits.maxResultBytes,
    maxDepth: limits.maxDepth,
    maxSequence: limits.maxSequence,
  })
  return direct ? { source, compiled, limits, direct } : { source, compiled, limits }
}

/** JSONata calls the function bound to this after every evaluation step, with the step's result. */
const EVALUATE_EXIT = Symbol.for('jsonata.__evaluate_exit')
const STRING_TOO_LONG = 'PIECEWORK_STRING_TOO_LONG'

/**
 * The time budget is checked between steps, never inside a built-in: `$length` of a 100-million
 * character string (a `$pad` or a few dozen `&` doublings make one in a millisecond) holds the
 * thread for seconds and takes gigabytes. Refusing any step's string longer than the result may be
 * stops that before a built-in gets it; a length check per step costs nothing measurable.
 */
function stringGuard(maxChars: number) {
  return (_expr: unknown, _input: unknown, _env: unknown, result: unknown) => {
    if (typeof result === 'string' && result.length > maxChars) throw { code: STRING_TOO_LONG }
  }
}

/** Compiles every `{{ }}` in a value; syntax errors are collected, not thrown. */
export function compileTemplate(
  value: unknown,
  path: string,
  errors: ExpressionSyntaxError[],
  limits: ExpressionLimits = EXPRESSION_LIMITS,
): Template {
  const compile = (source: string): Expression => {
    try {
      return compileExpression(source, path, limits)
    } catch (error) {
      errors.push(error as ExpressionSyntaxError)
      return { source, compiled: jsonata('null'), limits }
    }
  }
  if (typeof value === 'string') {
    const parts = splitTemplate(value)
    if (parts.every((p) => typeof p === 'string')) return { kind: 'literal', value }
    const [only] = parts
    if (parts.length === 1 && typeof only === 'object')
      return { kind: 'expression', expression: compile(only.source) }
    return { kind: 'text', parts: parts.map((p) => (typeof p === 'string' ? p : compile(p.source))) }
  }
  if (Array.isArray(value)) {
    const items = value.map((item, i) => compileTemplate(item, `${path}[${i}]`, errors, limits))
    return items.every((t) => t.kind === 'literal') ? { kind: 'literal', value } : { kind: 'array', items }
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(
      ([key, item]) => [key, compileTemplate(item, `${path}.${key}`, errors, limits)] as [string, Template],
    )
    return entries.every(([, t]) => t.kind === 'literal')
      ? { kind: 'literal', value }
      : { kind: 'object', entries }
  }
  return { kind: 'literal', value }
}

/**
 * The evaluation now running, if any: evaluations take turns. JSONata yields between steps, and its
 * time budget is wall time, so evaluations of many runs at once (a burst of resumed runs) would
 * each count the others' time and fail for nothing. In turn, each counts only its own.
 */
let current: Promise<unknown> = Promise.resolve()

function inTurn<T>(work: () => Promise<T>): Promise<T> {
  const result = current.then(work, work)
  current = result.then(
    () => undefined,
    () => undefined,
  )
  return result
}

/**
 * Where a scope carries the functions it adds to expressions (`$signalUrl`): a symbol, so that no
 * field of the data an expression reads can shadow or expose them.
 */
export const EXPRESSION_FUNCTIONS = Symbol('piecework.expressionFunctions')

export type ExpressionFunctions = Record<string, (...args: never[]) => unknown>

function functionsOf(data: unknown): ExpressionFunctions | undefined {
  return typeof data === 'object' && data !== null
    ? (data as { [EXPRESSION_FUNCTIONS]?: ExpressionFunctions })[EXPRESSION_FUNCTIONS]
    : undefined
}

async function evaluate(expression: Expression, data: unknown): Promise<unknown> {
  let value: unknown
  const functions = functionsOf(data)
  const direct = expression.path
    ? readPlainPath(data, expression.path, expression.limits.maxResultBytes)
    : expression.direct
      ? expression.direct(data, functions)
      : EVALUATE
  try {
    if (direct !== EVALUATE) value = normalise(direct)
    else value = normalise(await inTurn(() => expression.compiled.evaluate(data, functions)))
  } catch (error) {
    throw (
      limitError(expression, error) ??
      new ExpressionEvalError(expression.source, (error as Error).message, error)
    )
  }
  const max = expression.limits.maxResultBytes
  if (jsonBytesOver(value, max))
    throw new ExpressionLimitError(
      expression.source,
      'maxResultBytes',
      `gave a result larger than ${max} bytes`,
    )
  return value
}

/** JSONata reports its guardrails by code; undefined for any other failure. */
function limitError(expression: Expression, error: unknown): ExpressionLimitError | undefined {
  const { source, limits } = expression
  switch ((error as { code?: unknown })?.code) {
    case 'D1012':
      return new ExpressionLimitError(source, 'timeout', `took longer than its ${limits.timeoutMs} ms budget`)
    case 'D1011':
      return new ExpressionLimitError(source, 'maxDepth', `went deeper than ${limits.maxDepth} frames`)
    // D2014 is JSONata's own cap on a range, which a maxSequence configured above it leaves in place
    case 'D2015':
    case 'D2014': {
      const max = Math.min(limits.maxSequence, RANGE_CAP)
      return new ExpressionLimitError(source, 'maxSequence', `produced a sequence longer than ${max} items`)
    }
    case STRING_TOO_LONG: {
      const max = limits.maxResultBytes
      return new ExpressionLimitError(
        source,
        'maxResultBytes',
        `built a string longer than ${max} characters`,
      )
    }
  }
  return undefined
}

const RANGE_CAP = 10_000_000

/**
 * Whether the value's JSON is over `max` bytes, without building the JSON when the answer is plain.
 * A walk counts the JSON's bytes exactly but for what escapes and UTF-8 add to strings, which it
 * bounds instead; strings count by length, which a lazily built `$pad` string gives without being
 * flattened. Only when the limit falls within that bound is the JSON built and measured.
 */
export function jsonBytesOver(value: unknown, max: number): boolean {
  let least = 0
  let slack = 0
  const pending: unknown[] = [leftOut(value) ? null : value]
  while (pending.length > 0 && least <= max) {
    const item = pending.pop()
    if (typeof item === 'string') {
      least += item.length + 2
      // a UTF-16 unit is at most 3 bytes of UTF-8, and at most 6 as an escape (`\u001f`)
      slack += item.length * 5
    } else if (Array.isArray(item)) {
      least += item.length > 0 ? item.length + 1 : 2 // brackets and commas
      for (const inner of item) pending.push(leftOut(inner) ? null : inner)
    } else if (typeof item === 'object' && item !== null) {
      let kept = 0
      for (const key of Object.keys(item)) {
        const inner = (item as Record<string, unknown>)[key]
        if (leftOut(inner)) continue
        kept++
        least += key.length + 3
        slack += key.length * 5
        pending.push(inner)
      }
      least += kept > 0 ? kept + 1 : 2 // braces and commas
    } else least += String(item).length // a number, a boolean or null
  }
  if (least > max) return true
  if (least + slack <= max) return false
  return Buffer.byteLength(JSON.stringify(value) ?? 'null') > max
}

/** JSON leaves these out of an object, and writes them as null in an array. */
function leftOut(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol'
}

/** JSONata's sequences and functions are not JSON; a missing value becomes null. */
function normalise(value: unknown): unknown {
  if (value === undefined) return null
  if (typeof value === 'function' || isJsonataFunction(value)) return null
  if (Array.isArray(value)) return Array.from(value, normalise)
  return value
}

/** JSONata hands out its functions and lambdas as plain objects carrying one of these marks. */
function isJsonataFunction(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    ('_jsonata_function' in value || '_jsonata_lambda' in value)
  )
}

function asText(value: unknown): string {
  if (value === null || value === undefined) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** Each expression is bounded on its own; the text they make together is a result too. */
async function renderText(parts: (string | Expression)[], data: unknown): Promise<string> {
  let text = ''
  let limits = EXPRESSION_LIMITS
  for (const part of parts) {
    if (typeof part === 'string') text += part
    else {
      limits = part.limits
      text += asText(await evaluate(part, data))
    }
  }
  if (jsonBytesOver(text, limits.maxResultBytes)) {
    const source = parts.map((p) => (typeof p === 'string' ? p : `{{ ${p.source} }}`)).join('')
    throw new ExpressionLimitError(
      source,
      'maxResultBytes',
      `gave a result larger than ${limits.maxResultBytes} bytes`,
    )
  }
  return text
}

export async function renderTemplate(template: Template, data: unknown): Promise<unknown> {
  switch (template.kind) {
    case 'literal':
      return template.value
    case 'expression':
      return evaluate(template.expression, data)
    case 'text':
      return renderText(template.parts, data)
    case 'array':
      return Promise.all(template.items.map((item) => renderTemplate(item, data)))
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [key, item] of template.entries) out[key] = await renderTemplate(item, data)
      return out
    }
  }
}

export function isExpressionText(value: unknown): boolean {
  return typeof value === 'string' && splitTemplate(value).some((p) => typeof p !== 'string')
}
