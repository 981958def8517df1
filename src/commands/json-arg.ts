// A command-line option that holds JSON: the text itself, or `@path` to read it from a file.
import { readFile } from 'node:fs/promises'
import { ValidationError } from '../errors.js'

export async function parseJsonArg(option: string, arg: string): Promise<unknown> {
  const text = arg.startsWith('@')
    ? await readFile(arg.slice(1), 'utf8').catch((e: Error) => {
        throw new ValidationError(`${option}: cannot read ${arg.slice(1)}: ${e.message}`)
      })
    : arg
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ValidationError(`${option} is not JSON: ${(error as Error).message}`)
  }
}
