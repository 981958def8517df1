// The secrets `piecework run` may use: those of the configuration file that `serve` would read.
import { existsSync, readFileSync } from 'node:fs'
import { ValidationError } from '../errors.js'
import { parse } from '../vendor/yaml.js'
import { DEFAULT_CONFIG_FILE, parseConfig } from './load.js'

/**
 * For `piecework run`: the `secrets` section of the configuration file `serve` would read
 * (`--config`, PIECEWORK_CONFIG, config/piecework.yaml), and nothing else of it. A `${VAR}` that is
 * not set leaves its secret out (a step that names it then says so).
 */
export function secretsOfConfigFile(file?: string, env: Record<string, string | undefined> = process.env) {
  const path =
    file ?? env.PIECEWORK_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined)
  let raw: { secrets?: unknown } | null = null
  if (path) {
    try {
      raw = parse(readFileSync(path, 'utf8')) as { secrets?: unknown } | null
    } catch (error) {
      throw new ValidationError(`cannot read the secrets of ${path}: ${(error as Error).message}`)
    }
  }
  const section = typeof raw === 'object' && raw !== null ? { secrets: raw.secrets } : {}
  return parseConfig(section, env, path ?? 'configuration', 'skip').secrets
}
