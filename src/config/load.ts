// Loading the configuration: the YAML file, `${VAR}` interpolation, then `PIECEWORK_<SECTION>_<KEY>`
// overrides (and `PORT`), validated as a whole so that every bad key is named at once.
import { existsSync, readFileSync } from 'node:fs'
import * as v from 'valibot'
import { issuesToProblems } from '../definition/issues.js'
import { ValidationError } from '../errors.js'
import { parse } from '../vendor/yaml.js'
import { type Config, ConfigSchema } from './schema.js'

export const DEFAULT_CONFIG_FILE = 'config/piecework.yaml'

type Env = Record<string, string | undefined>

const UNSET = Symbol('unset')

/**
 * `${VAR}` and `${VAR:-default}` in every string value. An unset variable is an error, or, when
 * only checking files (`unset: 'skip'`), leaves its key out so that it is not judged.
 */
export function interpolate(value: unknown, env: Env, path = '', unset: 'error' | 'skip' = 'error'): unknown {
  if (typeof value === 'string') {
    let missing = false
    const text = value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback?: string) => {
        const found = env[name] ?? fallback
        if (found !== undefined) return found
        if (unset === 'skip') {
          missing = true
          return ''
        }
        throw new ValidationError(`configuration: ${path} refers to \${${name}}, which is not set`, [
          { path, message: `environment variable ${name} is not set` },
        ])
      },
    )
    return missing ? UNSET : text
  }
  if (Array.isArray(value)) {
    return value
      .map((item, i) => interpolate(item, env, `${path}[${i}]`, unset))
      .filter((item) => item !== UNSET)
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .map(([k, item]) => [k, interpolate(item, env, path ? `${path}.${k}` : k, unset)])
        .filter(([, item]) => item !== UNSET),
    )
  }
  return value
}

const upperSnake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()

interface Leaf {
  path: string[]
  type: string
}

/** Every key of the schema with the type of its value, found by walking the valibot object schemas. */
function leaves(schema: v.GenericSchema, path: string[] = []): Leaf[] {
  const inner = unwrap(schema)
  if ('entries' in inner && inner.type.endsWith('object')) {
    return Object.entries(inner.entries as Record<string, v.GenericSchema>).flatMap(([key, s]) =>
      leaves(s, [...path, key]),
    )
  }
  return [{ path, type: inner.type }]
}

function unwrap(schema: v.GenericSchema): v.GenericSchema {
  let s = schema as v.GenericSchema & { wrapped?: v.GenericSchema; pipe?: v.GenericSchema[] }
  while (s.wrapped || (s.type !== 'object' && s.pipe)) s = (s.wrapped ?? s.pipe![0]) as typeof s
  return s
}

function coerce(raw: string, type: string): unknown {
  // text that is not a number stays text, so that the error shows what was given
  if (type === 'number') return raw.trim() === '' || Number.isNaN(Number(raw)) ? raw : Number(raw)
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw
  if (type === 'array')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  if (type === 'union' && /^\d+$/.test(raw)) return Number(raw)
  return raw
}

/** `port: ${PORT}` is text after interpolation: numbers, booleans and lists are read from it. */
function coerceLeaves(config: Record<string, unknown>): Record<string, unknown> {
  const result = structuredClone(config)
  for (const leaf of leaves(ConfigSchema)) {
    let node = result as Record<string, unknown> | undefined
    for (const key of leaf.path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined
    const key = leaf.path[leaf.path.length - 1]!
    if (node && typeof node[key] === 'string' && leaf.type !== 'string')
      node[key] = coerce(node[key] as string, leaf.type)
  }
  return result
}

export function applyEnvOverrides(config: Record<string, unknown>, env: Env): Record<string, unknown> {
  const result = structuredClone(config)
  const set = (path: string[], value: unknown) => {
    let node = result as Record<string, unknown>
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
      node = node[key] as Record<string, unknown>
    }
    node[path[path.length - 1]!] = value
  }
  for (const leaf of leaves(ConfigSchema)) {
    const name = `PIECEWORK_${leaf.path.map(upperSnake).join('_')}`
    const raw = env[name]
    if (raw !== undefined) set(leaf.path, coerce(raw, leaf.type))
  }
  if (env.PORT !== undefined && env.PIECEWORK_SERVER_PORT === undefined)
    set(['server', 'port'], Number(env.PORT))
  return result
}

export function parseConfig(
  raw: unknown,
  env: Env = process.env,
  origin = 'configuration',
  unset: 'error' | 'skip' = 'error',
): Config {
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ValidationError(`${origin} must be a mapping of sections`)
  }
  const merged = applyEnvOverrides(
    coerceLeaves((interpolate(raw ?? {}, env, '', unset) as Record<string, unknown>) ?? {}),
    env,
  )
  const result = v.safeParse(ConfigSchema, merged)
  if (!result.success) {
    const problems = issuesToProblems(result.issues)
    throw new ValidationError(
      `${origin} is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      problems,
    )
  }
  return result.output
}

/** `--config`, else PIECEWORK_CONFIG, else config/piecework.yaml when it exists, else defaults. */
export function loadConfig(
  file?: string,
  env: Env = process.env,
  unset: 'error' | 'skip' = 'error',
): { config: Config; file?: string } {
  const path =
    file ?? env.PIECEWORK_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined)
  if (!path) return { config: parseConfig({}, env) }
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ValidationError(`cannot read the configuration ${path}: ${(error as Error).message}`)
  }
  let raw: unknown
  try {
    raw = parse(text)
  } catch (error) {
    throw new ValidationError(`${path} is not valid YAML: ${(error as Error).message}`)
  }
  return { config: parseConfig(raw, env, path, unset), file: path }
}
