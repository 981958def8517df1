// Where a workflow names secrets: `$secret('name')` in its expressions and the props an action
// declares as secret names (`secretProps`, such as `http.request`'s `auth.secret`). Names written
// out are checked at deploy time; names an expression computes can only be checked when it runs.
import { splitTemplate } from '../definition/template.js'
import type { Problem } from '../errors.js'
import type { PieceRegistry } from '../piece-sdk/registry.js'

/** `$secret('name')` or `$secret("name")`: a literal name, known before the expression runs. */
const LITERAL_CALL = /\$secret\(\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*\)/g

/** The value at a dotted path of props, if it is a string. */
export function propAt(props: unknown, path: string): unknown {
  let node = props
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

/** The secret names a step's resolved props give at the action's `secretProps`. */
export function namedSecrets(secretProps: readonly string[] | undefined, props: unknown): string[] {
  if (!secretProps) return []
  return secretProps
    .map((path) => propAt(props, path))
    .filter((name): name is string => typeof name === 'string')
}

/** Every secret name written out in a definition, with where it is. */
export function secretReferences(
  definition: unknown,
  registry: PieceRegistry,
): { path: string; name: string }[] {
  const found: { path: string; name: string }[] = []
  walkStrings(definition, '', (text, path) => {
    for (const match of text.matchAll(LITERAL_CALL)) found.push({ path, name: match[1] ?? match[2]! })
  })
  const steps = (definition as { steps?: unknown })?.steps
  if (!Array.isArray(steps)) return found
  steps.forEach((step: { uses?: unknown; with?: unknown }, i) => {
    if (typeof step?.uses !== 'string') return
    for (const prop of registry.action(step.uses)?.secretProps ?? []) {
      const name = propAt(step.with, prop)
      // a name made by an expression is read when the step runs
      if (typeof name === 'string' && !name.includes('{{'))
        found.push({ path: `steps[${i}].with.${prop}`, name })
    }
  })
  return found
}

/** `secrets.NAME` read as a variable (as other tools write it): there is none, it would be null. */
const SECRETS_PATH = /(?<![\w$.])secrets\.([A-Za-z0-9_-]+)/

/**
 * A problem for every secret name written out that is not defined, and for every expression that
 * reads `secrets.NAME` as if it were a variable.
 */
export function secretProblems(
  definition: unknown,
  registry: PieceRegistry,
  has: (name: string) => boolean,
): Problem[] {
  const problems: Problem[] = []
  walkStrings(definition, '', (text, path) => {
    for (const part of splitTemplate(text)) {
      const misread = typeof part === 'object' && SECRETS_PATH.exec(part.source)
      if (misread)
        problems.push({
          path,
          message: `secrets.${misread[1]} is not a variable: write $secret('${misread[1]}')`,
        })
    }
  })
  for (const { path, name } of secretReferences(definition, registry))
    if (!has(name))
      problems.push({
        path,
        message: `secret '${name}' is not defined (secrets.values in the configuration, or PUT /api/v1/secrets/${name})`,
      })
  return problems
}

function walkStrings(value: unknown, path: string, visit: (text: string, path: string) => void): void {
  if (typeof value === 'string') visit(value, path)
  else if (Array.isArray(value)) value.forEach((item, i) => void walkStrings(item, `${path}[${i}]`, visit))
  else if (typeof value === 'object' && value !== null)
    for (const [key, item] of Object.entries(value)) walkStrings(item, path ? `${path}.${key}` : key, visit)
}
