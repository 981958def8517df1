// The reference of loaded pieces as Markdown, written from the same JSON Schemas that
// `GET /api/v1/pieces` answers: `npm run docs:pieces` keeps docs/pieces-reference.md in step.
import type { pieceCatalogue } from './catalogue.js'

type Catalogue = ReturnType<typeof pieceCatalogue>
type Piece = Catalogue[number]

interface JsonSchema {
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  items?: JsonSchema
  properties?: Record<string, JsonSchema>
  additionalProperties?: boolean | JsonSchema
  required?: string[]
  default?: unknown
  format?: string
  minimum?: number
  maximum?: number
  minLength?: number
  minItems?: number
  pattern?: string
  description?: string
}

/** A short type expression: `string`, `text \| json`, `number ≥ 0`, `{ role, content }[]`. */
export function typeText(schema: JsonSchema | undefined): string {
  if (!schema || Object.keys(schema).length === 0) return 'any'
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema.enum)
    return schema.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join(' \\| ')
  const union = schema.anyOf ?? schema.oneOf
  if (union) return union.map(typeText).join(' \\| ')
  const type = Array.isArray(schema.type) ? schema.type.join(' \\| ') : schema.type
  if (type === 'array') return `${wrap(typeText(schema.items))}[]`
  if (type === 'object') {
    if (schema.properties && Object.keys(schema.properties).length > 0)
      return `{ ${Object.keys(schema.properties).join(', ')} }`
    if (typeof schema.additionalProperties === 'object')
      return `{ [key]: ${typeText(schema.additionalProperties)} }`
    return 'object'
  }
  const limits = [
    schema.format,
    schema.minimum !== undefined ? `≥ ${schema.minimum}` : undefined,
    schema.maximum !== undefined ? `≤ ${schema.maximum}` : undefined,
    schema.minLength ? `non-empty` : undefined,
    schema.minItems ? `at least ${schema.minItems}` : undefined,
  ].filter(Boolean)
  return limits.length > 0 ? `${type ?? 'any'} (${limits.join(', ')})` : (type ?? 'any')
}

const wrap = (text: string) => (text.includes(' ') && !text.startsWith('{') ? `(${text})` : text)

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

function propsTable(schema: unknown): string {
  const object = schema as JsonSchema
  const entries = Object.entries(object.properties ?? {})
  if (entries.length === 0) return 'No props.\n'
  const required = new Set(object.required ?? [])
  const rows = entries.map(([name, prop]) => {
    const need = required.has(name)
      ? 'yes'
      : prop.default !== undefined
        ? `no (${JSON.stringify(prop.default)})`
        : 'no'
    return `| \`${name}\` | ${typeText(prop)} | ${cell(need)} | ${cell(prop.description ?? '')} |`
  })
  return ['| prop | type | required (default) | meaning |', '|---|---|---|---|', ...rows, ''].join('\n')
}

function outputText(schema: unknown): string {
  if (!schema) return 'Output: any JSON value.\n'
  const object = schema as JsonSchema
  if (!object.properties) return `Output: ${typeText(object)}.\n`
  const fields = Object.entries(object.properties).map(([name, field]) => {
    const optional = (object.required ?? []).includes(name) ? '' : '?'
    return `\`${name}${optional}\`: ${typeText(field)}`
  })
  return `Output: { ${fields.join('; ')} }.\n`
}

function pieceSection(piece: Piece): string {
  const lines = [`## ${piece.name} (${piece.title}, version ${piece.version})`, '']
  if (piece.description) lines.push(piece.description, '')
  if (piece.auth) {
    lines.push(
      `Needs: ${piece.auth.fields.map((f) => `\`${piece.auth!.configKey}.${f}\``).join(', ')} in the engine's config` +
        ` (${piece.auth.type}${piece.auth.required ? '' : '; the secret is optional'}).`,
      '',
    )
  }
  for (const trigger of piece.triggers) {
    lines.push(`### trigger \`${trigger.name}\` (${trigger.kind})`, '')
    if (trigger.description) lines.push(trigger.description, '')
    lines.push(propsTable(trigger.props))
  }
  for (const action of piece.actions) {
    lines.push(`### \`${action.uses}\``, '')
    if (action.description) lines.push(action.description, '')
    lines.push(propsTable(action.props))
    lines.push(outputText(action.output))
    if (action.handles && !(action.handles.length === 1 && action.handles[0] === 'out'))
      lines.push(`Handles: ${action.handles.map((h) => `\`${h}\``).join(', ')}.`, '')
    else if (action.handles === null) lines.push('Handles: decided by its props (see the description).', '')
  }
  return lines.join('\n')
}

export function pieceReference(catalogue: Catalogue): string {
  return [
    '# Built-in pieces',
    '',
    "<!-- written by `npm run docs:pieces` from the pieces' schemas; do not edit by hand -->",
    '',
    'Every piece that ships with piecework, with the props of each action and trigger and the shape of',
    'its output, as `GET /api/v1/pieces` gives them (that answer also has the full JSON Schemas). How',
    'to write a piece of your own: [pieces.md](pieces.md).',
    '',
    ...catalogue.map(pieceSection),
  ].join('\n')
}
