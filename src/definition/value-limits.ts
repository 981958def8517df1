// Limits on the shape of a value that comes from outside (a request body, a definition file), checked
// by a loop before any recursive code sees the value: nesting depth, NUL characters, and for YAML,
// values that refer to themselves or expand too far through aliases.
import { type Problem, ValidationError } from '../errors.js'

/** How deep objects and arrays may nest in a body or a definition; the value itself is level 1. */
export const MAX_NESTING = 100

export interface ValueLimits {
  maxDepth?: number
  /** Values (entries of objects and arrays) allowed in all; YAML aliases can repeat a part many times. */
  maxValues?: number
  /** Whether parts may be shared (YAML aliases): then a part inside itself is looked for. */
  shared?: boolean
  /** What paths start with (`body`, `query`); none by default. */
  root?: string
}

interface Frame {
  value: object
  depth: number
  parent: Frame | undefined
  key: string | number | undefined
}

const NUL = 'holds a NUL character (U+0000), which piecework does not accept'

/** The first problem of the value, or undefined; its path is `$` for the value itself. */
export function valueProblem(value: unknown, limits: ValueLimits = {}): Problem | undefined {
  const { maxDepth = MAX_NESTING, maxValues = Number.POSITIVE_INFINITY, shared = false, root = '' } = limits
  if (typeof value === 'string') return value.includes('\0') ? { path: root || '$', message: NUL } : undefined
  if (typeof value !== 'object' || value === null) return undefined
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: undefined }]
  let values = 1
  const visit = (frame: Frame, key: string | number, child: unknown): string | undefined => {
    if (++values > maxValues) return `expands to more than ${maxValues} values`
    if (typeof key === 'string' && key.includes('\0')) return NUL
    if (typeof child === 'string') return child.includes('\0') ? NUL : undefined
    if (typeof child !== 'object' || child === null) return undefined
    if (frame.depth >= maxDepth) return `is nested deeper than ${maxDepth} levels`
    if (shared && insideItself(frame, child)) return 'refers to itself (through a YAML alias)'
    stack.push({ value: child, depth: frame.depth + 1, parent: frame, key })
    return undefined
  }
  while (stack.length > 0) {
    const frame = stack.pop()!
    const container = frame.value as Record<string, unknown> & unknown[]
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const message = visit(frame, i, container[i])
        if (message) return { path: pathOf(root, frame, i), message }
      }
    } else {
      for (const key of Object.keys(container)) {
        const message = visit(frame, key, container[key])
        if (message) return { path: pathOf(root, frame, key), message }
      }
    }
  }
  return undefined
}

/** Throws a ValidationError naming where the value breaks a limit: `${what} ${problem}`. */
export function checkValueLimits(value: unknown, what: string, limits: ValueLimits = {}): void {
  const problem = valueProblem(value, limits)
  if (problem) throw new ValidationError(`${what} ${problem.message}`, [problem])
}

function insideItself(frame: Frame, child: object): boolean {
  for (let f: Frame | undefined = frame; f; f = f.parent) if (f.value === child) return true
  return false
}

const MAX_PATH_CHARS = 300

/** `steps[0].with["a b"]`, cut short when long (a path may be a hundred levels deep). */
function pathOf(root: string, frame: Frame, key: string | number): string {
  const keys: (string | number)[] = [key]
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) keys.push(f.key)
  let path = root
  for (const k of keys.reverse()) {
    path = joinPath(path, k)
    if (path.length > MAX_PATH_CHARS) return `${path.slice(0, MAX_PATH_CHARS)}…`
  }
  return path
}

function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path === '' ? key : `${path}.${key}`
  return `${path}[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}]`
}
