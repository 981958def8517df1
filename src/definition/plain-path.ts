// Expressions that only read a value by its path (`input.name`, `steps.fetch.output`): most of the
// `{{ }}` in real workflows. They are read directly, without JSONata's evaluator, wherever that
// gives exactly JSONata's answer; anywhere else (an array on the way, an inherited property, a
// string over the result limit) the caller evaluates the expression with JSONata as before.

/** A parsed JSONata expression, as far as this module reads it. */
interface Node {
  type: string
  value?: unknown
  steps?: Node[]
  [other: string]: unknown
}

/** What a path step may carry besides these makes it more than a plain lookup. */
const PLAIN_STEP_KEYS = new Set(['type', 'value', 'position'])
const PLAIN_PATH_KEYS = new Set(['type', 'steps', 'position'])

/** The names of a path made of plain names only (`a.b.c`), or undefined. */
export function plainPath(ast: Node): string[] | undefined {
  if (ast.type !== 'path' || !Array.isArray(ast.steps) || ast.steps.length === 0) return undefined
  if (Object.keys(ast).some((key) => !PLAIN_PATH_KEYS.has(key))) return undefined
  const names: string[] = []
  for (const step of ast.steps) {
    if (step.type !== 'name' || typeof step.value !== 'string') return undefined
    if (Object.keys(step).some((key) => !PLAIN_STEP_KEYS.has(key))) return undefined
    names.push(step.value)
  }
  return names
}

/** Returned when only JSONata can say what the path gives. */
export const EVALUATE = Symbol('evaluate with JSONata')

/**
 * The value at the path in the data, as JSONata gives it: undefined where a name is missing or the
 * value on the way is not an object. EVALUATE where JSONata's answer could differ: an array on the
 * way (a path maps over it), a name found on a prototype, a string longer than `maxChars` (which
 * JSONata refuses as it reads it).
 */
export function readPlainPath(data: unknown, names: string[], maxChars: number): unknown {
  let value = data
  for (const name of names) {
    if (Array.isArray(value)) return EVALUATE
    if (typeof value !== 'object' || value === null) return undefined
    if (!Object.hasOwn(value, name)) return name in value ? EVALUATE : undefined
    value = (value as Record<string, unknown>)[name]
  }
  if (typeof value === 'string' && value.length > maxChars) return EVALUATE
  if (typeof value === 'function') return EVALUATE
  return value
}
