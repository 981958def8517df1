// Request bodies: JSON (or YAML where a route allows it), within the limits of value-limits.ts, then
// checked against the route's valibot schema.
import type { Context } from 'hono'
import * as v from 'valibot'
import { issuesToProblems } from '../definition/issues.js'
import { parseDefinitionText } from '../definition/load.js'
import { checkValueLimits } from '../definition/value-limits.js'
import { ValidationError } from '../errors.js'
import { HttpError } from './errors.js'

export async function readBody(c: Context, options: { yaml?: boolean } = {}): Promise<unknown> {
  const type = (c.req.header('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase()
  const text = await c.req.text()
  const isYaml = type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml'
  if (options.yaml && isYaml) return parseDefinitionText(text, 'the request body')
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `the body must be application/json${options.yaml ? ' or application/yaml' : ''}, not ${type}`,
    )
  }
  if (text.trim() === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ValidationError(`the request body is not valid JSON: ${(error as Error).message}`, [
      { path: '$', message: 'malformed JSON' },
    ])
  }
  // JSON.parse does not recurse; what reads the value later may
  checkValueLimits(value, 'the request body')
  return value
}

export function check<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value)
  if (!result.success) throw new ValidationError(`${what} is invalid`, issuesToProblems(result.issues))
  return result.output
}
