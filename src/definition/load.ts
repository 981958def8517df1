// Reading definitions from text and files: YAML (which also reads JSON), errors naming the line.
import { readFile } from 'node:fs/promises'
import { parseDocument } from 'yaml'
import { ValidationError } from '../errors.js'

export function parseDefinitionText(text: string, origin = 'definition'): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ValidationError(
      `${origin} is not valid YAML or JSON`,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '$',
        message: e.message.split('\n')[0] ?? e.message,
      })),
    )
  }
  return doc.toJS({ maxAliasCount: 100 })
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
