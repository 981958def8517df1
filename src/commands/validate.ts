// `piecework validate PATH...`: checks workflow files (and every .yaml/.yml/.json file in folders).
import { readdirSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { loadConfig } from '../config/load.js'
import { compileWorkflow } from '../definition/compile.js'
import { loadDefinitionFile } from '../definition/load.js'
import { isEngineError, type Problem, ValidationError } from '../errors.js'
import type { PieceRegistry } from '../piece-sdk/registry.js'

const DEFINITION_FILES = new Set(['.yaml', '.yml', '.json'])

export function definitionFiles(paths: string[]): string[] {
  const files: string[] = []
  for (const path of paths) {
    const stat = statSync(path, { throwIfNoEntry: false })
    if (!stat) throw new ValidationError(`${path}: no such file or folder`)
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        const full = join(path, entry)
        if (statSync(full).isDirectory() || DEFINITION_FILES.has(extname(entry)))
          files.push(...definitionFiles([full]))
      }
    } else files.push(path)
  }
  return files
}

export interface FileReport {
  file: string
  ok: boolean
  message?: string
  problems: Problem[]
}

/** `piecework.yaml` in a checked folder is the engine's configuration, not a workflow. */
const CONFIG_FILE = /(^|[\\/])piecework\.(ya?ml|json)$/

export async function validateFiles(paths: string[], registry: PieceRegistry): Promise<FileReport[]> {
  const reports: FileReport[] = []
  for (const file of definitionFiles(paths)) {
    try {
      // variables that a deployment sets need not be set where the files are checked
      if (CONFIG_FILE.test(file)) loadConfig(file, process.env, 'skip')
      else compileWorkflow(await loadDefinitionFile(file), registry)
      reports.push({ file, ok: true, problems: [] })
    } catch (error) {
      if (!isEngineError(error)) throw error
      reports.push({
        file,
        ok: false,
        message: error.message,
        problems: error instanceof ValidationError ? error.problems : [],
      })
    }
  }
  return reports
}

export function formatProblems(message: string, problems: Problem[]): string {
  return [message, ...problems.map((p) => `  ${p.path}: ${p.message}`)].join('\n')
}
