// Reading definitions from text and files: YAML (which also reads JSON), errors naming the line.
import { readFile } from 'node:fs/promises'
import { ValidationError } from '../errors.js'
import { parseDocument } from '../vendor/yaml.js'
import { checkValueLimits, MAX_NESTING } from './value-limits.js'

/** Values a definition may hold once its aliases are expanded: never fewer than its text has characters. */
export const MAX_EXPANDED_VALUES = 1_000_000

const TOO_DEEP = `is nested deeper than ${MAX_NESTING} levels`

export function parseDefinitionText(text: string, origin = 'definition'): unknown {
  // the parser builds the tree recursively: a deep one ends in a RangeError, reported as a problem
  let doc: ReturnType<typeof parseDocument>
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  } catch (error) {
    if (error instanceof RangeError)
      throw new ValidationError(`${origin} ${TOO_DEEP}`, [{ path: '$', message: TOO_DEEP }])
    throw error
  }
  if (doc.errors.length > 0) {
    const deep = (message: string) => message.startsWith('Maximum call stack size exceeded')
    throw new ValidationError(
      doc.errors.some((e) => deep(e.message))
        ? `${origin} ${TOO_DEEP}`
        : `${origin} is not valid YAML or JSON`,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '$',
        message: deep(e.message) ? TOO_DEEP : (e.message.split('\n')[0] ?? e.message),
      })),
    )
  }
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 100 })
  } catch (error) {
    // yaml's guard against exponential expansion ("billion laughs") throws a ReferenceError
    if (!(error instanceof ReferenceError || error instanceof RangeError)) throw error
    const message =
      error instanceof RangeError
        ? TOO_DEEP
        : /resource exhaustion/.test((error as Error).message)
          ? 'expands its aliases too many times (a guard against exponential expansion)'
          : (error as Error).message
    throw new ValidationError(`${origin} ${message}`, [{ path: '$', message }])
  }
  checkValueLimits(value, origin, { shared: true, maxValues: Math.max(MAX_EXPANDED_VALUES, text.length) })
  return value
}

export async function loadDefinitionFile(path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ValidationError(`cannot read ${path}: ${(error as Error).message}`)
  }
  return parseDefinitionText(text, path)
}
