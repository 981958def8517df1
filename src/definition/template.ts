// `{{ expression }}` templates in props: compiled once when a definition is validated, evaluated
// when a step's props are resolved. A string that is exactly one `{{ }}` keeps the value's type;
// otherwise each expression is interpolated as text.
import jsonata from 'jsonata'

export type Expression = { source: string; compiled: jsonata.Expression }

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
  ) {
    super(`expression "${source}" failed: ${reason}`)
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

function compileExpression(source: string, path: string): Expression {
  try {
    return { source, compiled: jsonata(source) }
  } catch (error) {
    throw new ExpressionSyntaxError(source, path, (error as Error).message)
  }
}

/** Compiles every `{{ }}` in a value; syntax errors are collected, not thrown. */
export function compileTemplate(value: unknown, path: string, errors: ExpressionSyntaxError[]): Template {
  const compile = (source: string): Expression => {
    try {
      return compileExpression(source, path)
    } catch (error) {
      errors.push(error as ExpressionSyntaxError)
      return { source, compiled: jsonata('null') }
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
    const items = value.map((item, i) => compileTemplate(item, `${path}[${i}]`, errors))
    return items.every((t) => t.kind === 'literal') ? { kind: 'literal', value } : { kind: 'array', items }
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(
      ([key, item]) => [key, compileTemplate(item, `${path}.${key}`, errors)] as [string, Template],
    )
    return entries.every(([, t]) => t.kind === 'literal')
      ? { kind: 'literal', value }
      : { kind: 'object', entries }
  }
  return { kind: 'literal', value }
}

async function evaluate(expression: Expression, data: unknown): Promise<unknown> {
  try {
    return normalise(await expression.compiled.evaluate(data))
  } catch (error) {
    throw new ExpressionEvalError(expression.source, (error as Error).message)
  }
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

export async function renderTemplate(template: Template, data: unknown): Promise<unknown> {
  switch (template.kind) {
    case 'literal':
      return template.value
    case 'expression':
      return evaluate(template.expression, data)
    case 'text': {
      let text = ''
      for (const part of template.parts)
        text += typeof part === 'string' ? part : asText(await evaluate(part, data))
      return text
    }
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
