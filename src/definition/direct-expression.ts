// Expressions of a few common shapes evaluated directly, in plain synchronous JS, without JSONata's
// evaluator (an async call and a handful of objects for every node): plain paths, literals, array
// and object constructors, arithmetic, and `$merge` — `$merge([input, {"total": input.n + 1}])`
// is what most enrichment steps look like. Each shape is compiled only where its meaning is plain,
// and the compiled function gives exactly JSONata's answer or EVALUATE, whenever a value on the way
// would make JSONata's answer differ (an array where it would flatten or map, a number it would
// refuse) or fail; the caller then evaluates the expression with JSONata as before.
import { EVALUATE, plainPath, readPlainPath } from './plain-path.js'

/** A parsed JSONata expression, as far as this module reads it. */
interface Node {
  type: string
  value?: unknown
  [other: string]: unknown
}

/** Evaluates a compiled expression against the data; EVALUATE when only JSONata can say. */
export type DirectExpression = (data: unknown, functions: object | undefined) => unknown

/** Built-in functions evaluated directly; a scope that binds one of these names is left to JSONata. */
const FUNCTIONS: Record<string, (args: unknown[]) => unknown> = { merge }

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
}

/**
 * The keys each node type may carry. Anything else (a predicate, a group, `keepArray`, a focus or
 * index binding) changes what the node means, and such a node is left to JSONata.
 */
const KEYS: Record<string, Set<string>> = {
  string: new Set(['type', 'value', 'position']),
  number: new Set(['type', 'value', 'position']),
  value: new Set(['type', 'value', 'position']),
  path: new Set(['type', 'steps', 'position']),
  binary: new Set(['type', 'value', 'lhs', 'rhs', 'position']),
  '[': new Set(['type', 'value', 'expressions', 'consarray', 'position']),
  '{': new Set(['type', 'value', 'lhs', 'position']),
  // `name` is there, undefined, on every call the parser makes
  function: new Set(['type', 'name', 'value', 'arguments', 'procedure', 'position']),
}

interface Bounds {
  /** Longest string JSONata's step guard lets through (the result size limit). */
  maxChars: number
  /** JSONata's frame budget; the compiled shape must stay well inside it. */
  maxDepth: number
  /** JSONata's sequence budget; an array built here must stay inside it. */
  maxSequence: number
}

/** The expression compiled for direct evaluation, or undefined where its shape is not one of these. */
export function compileDirect(ast: Node, bounds: Bounds): DirectExpression | undefined {
  try {
    // every node is an evaluation frame of JSONata's, a path step one more: twice the nodes is ample
    const budget = { nodes: Math.floor(bounds.maxDepth / 2) }
    const direct = compile(ast, bounds, budget)
    // JSONata maps the whole expression over an array it is given: only it does that
    return direct && ((data, functions) => (Array.isArray(data) ? EVALUATE : direct(data, functions, true)))
  } catch {
    return undefined
  }
}

/** `top`: the expression's own result, which JSONata unwraps and the caller normalises. */
type Compiled = (data: unknown, functions: object | undefined, top: boolean) => unknown

function compile(node: Node, bounds: Bounds, budget: { nodes: number }): Compiled | undefined {
  if (--budget.nodes < 0) return undefined
  const kind = node.type === 'unary' ? String(node.value) : node.type
  const allowed = KEYS[kind]
  if (!allowed || Object.keys(node).some((key) => !allowed.has(key))) return undefined
  switch (kind) {
    case 'string':
      if (typeof node.value !== 'string' || node.value.length > bounds.maxChars) return undefined
      return literal(node.value)
    case 'number':
      return typeof node.value === 'number' && Number.isFinite(node.value) ? literal(node.value) : undefined
    case 'value':
      return node.value === true || node.value === false || node.value === null
        ? literal(node.value)
        : undefined
    case 'path':
      return path(node, bounds)
    case 'binary':
      return arithmetic(node, bounds, budget)
    case '[':
      return array(node, bounds, budget)
    case '{':
      return object(node, bounds, budget)
    case 'function':
      return call(node, bounds, budget)
  }
  return undefined
}

function literal(value: unknown): Compiled {
  return () => value
}

function path(node: Node, bounds: Bounds): Compiled | undefined {
  const names = plainPath(node as Parameters<typeof plainPath>[0])
  if (!names) return undefined
  return (data, _functions, top) => {
    const value = readPlainPath(data, names, bounds.maxChars)
    // inside a constructor or an operation, JSONata's sequences would flatten or map an array
    return !top && Array.isArray(value) ? EVALUATE : value
  }
}

function arithmetic(node: Node, bounds: Bounds, budget: { nodes: number }): Compiled | undefined {
  const op = ARITHMETIC[String(node.value)]
  const lhs = op && compile(node.lhs as Node, bounds, budget)
  const rhs = lhs && compile(node.rhs as Node, bounds, budget)
  if (!op || !lhs || !rhs) return undefined
  return (data, functions) => {
    const a = lhs(data, functions, false)
    if (a === EVALUATE || (a !== undefined && !finite(a))) return EVALUATE
    const b = rhs(data, functions, false)
    if (b === EVALUATE || (b !== undefined && !finite(b))) return EVALUATE
    if (a === undefined || b === undefined) return undefined
    const result = op(a as number, b as number)
    // JSONata refuses a number that is not finite as soon as anything reads it
    return Number.isFinite(result) ? result : EVALUATE
  }
}

function finite(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value)
}

function array(node: Node, bounds: Bounds, budget: { nodes: number }): Compiled | undefined {
  const nodes = node.expressions as Node[]
  if (!Array.isArray(nodes) || nodes.length >= bounds.maxSequence) return undefined
  const items = nodes.map((item) => compile(item, bounds, budget))
  if (items.some((item) => !item)) return undefined
  const nested = nodes.map((item) => item.type === 'unary' && item.value === '[')
  const cons = node.consarray === true
  return (data, functions) => {
    const result: unknown[] = []
    for (let i = 0; i < items.length; i++) {
      const value = items[i]!(data, functions, false)
      if (value === EVALUATE) return EVALUATE
      if (value === undefined) continue
      // JSONata appends (flattens) an array that is not itself written as `[...]`
      if (Array.isArray(value) && !nested[i]) return EVALUATE
      result.push(value)
    }
    if (cons) Object.defineProperty(result, 'cons', { enumerable: false, configurable: false, value: true })
    return result
  }
}

function object(node: Node, bounds: Bounds, budget: { nodes: number }): Compiled | undefined {
  const pairs = node.lhs as [Node, Node][]
  if (!Array.isArray(pairs)) return undefined
  const keys: string[] = []
  const values: Compiled[] = []
  for (const pair of pairs) {
    const [key, value] = pair
    // a key JSONata computes, repeats or refuses is left to it
    if (key.type !== 'string' || Object.keys(key).some((k) => !KEYS.string!.has(k))) return undefined
    const name = key.value
    if (typeof name !== 'string' || keys.includes(name)) return undefined
    if (name === '_jsonata_lambda' || name === '_jsonata_function') return undefined
    const compiled = compile(value, bounds, budget)
    if (!compiled) return undefined
    keys.push(name)
    values.push(compiled)
  }
  return (data, functions) => {
    // an object constructor over an array groups its items: only JSONata does that
    if (Array.isArray(data)) return EVALUATE
    const result: Record<string, unknown> = Object.create(null)
    for (let i = 0; i < keys.length; i++) {
      // an array here is one an array constructor made: a path's is left to JSONata (see `path`)
      const value = values[i]!(data, functions, false)
      if (value === EVALUATE) return EVALUATE
      if (value !== undefined) result[keys[i]!] = value
    }
    return result
  }
}

function call(node: Node, bounds: Bounds, budget: { nodes: number }): Compiled | undefined {
  const procedure = node.procedure as Node | undefined
  if (procedure?.type !== 'variable' || Object.keys(procedure).some((k) => !KEYS.string!.has(k)))
    return undefined
  const name = String(procedure.value)
  const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined
  const nodes = node.arguments as Node[]
  if (!fn || node.value !== '(' || node.name !== undefined || !Array.isArray(nodes)) return undefined
  const args = nodes.map((arg) => compile(arg, bounds, budget))
  if (args.some((arg) => !arg)) return undefined
  return (data, functions) => {
    if (functions && Object.hasOwn(functions, name)) return EVALUATE
    const values: unknown[] = []
    for (const arg of args) {
      const value = arg!(data, functions, false)
      if (value === EVALUATE) return EVALUATE
      values.push(value)
    }
    return fn(values)
  }
}

/** `$merge(array of objects)`: the objects' own keys, the later one winning. */
function merge(args: unknown[]): unknown {
  const [list] = args
  if (args.length !== 1 || !Array.isArray(list) || list.length === 0) return EVALUATE
  const result: Record<string, unknown> = Object.create(null)
  for (const item of list) {
    if (!plainObject(item)) return EVALUATE
    for (const key of Object.keys(item)) result[key] = (item as Record<string, unknown>)[key]
  }
  return result
}

/** An object JSONata's signature takes as `o`, and not one of its functions. */
function plainObject(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !('_jsonata_function' in value) &&
    !('_jsonata_lambda' in value)
  )
}
