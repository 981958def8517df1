// `piecework validate PATH...`: checks workflow files (and every .yaml/.yml/.json file in folders).
import { readdirSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { loadConfig } from '../config/load.js'
import { compileWorkflow } from '../definition/compile.js'
import { duplicateIds } from '../definition/duplicate-ids.js'
import { loadDefinitionFile } from '../definition/load.js'
import { isExpressionText } from '../definition/template.js'
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
  /** What may be right but is worth a look; it does not make the file invalid. */
  warnings: string[]
}

/** `piecework.yaml` in a checked folder is the engine's configuration, not a workflow. */
const CONFIG_FILE = /(^|[\\/])piecework\.(ya?ml|json)$/

export async function validateFiles(paths: string[], registry: PieceRegistry): Promise<FileReport[]> {
  const loaded: { file: string; definition?: unknown; error?: unknown }[] = []
  for (const file of definitionFiles(paths)) {
    try {
      // variables that a deployment sets need not be set where the files are checked
      if (CONFIG_FILE.test(file)) loadConfig(file, process.env, 'skip')
      loaded.push({ file, definition: CONFIG_FILE.test(file) ? undefined : await loadDefinitionFile(file) })
    } catch (error) {
      loaded.push({ file, error })
    }
  }
  const known = new Set(loaded.map(({ definition }) => idOf(definition)).filter((id) => id !== undefined))
  const duplicates = duplicateIds(loaded.map(({ file, definition }) => ({ file, id: idOf(definition) })))
  return loaded.map(({ file, definition, error }) => {
    try {
      if (error) throw error
      const duplicate = duplicates.get(file)
      if (duplicate) throw new ValidationError(duplicate, [{ path: 'id', message: duplicate }])
      if (definition !== undefined) compileWorkflow(definition, registry)
      const warnings = [...unknownCallees(definition, known), ...unknownFailureHandler(definition, known)]
      return { file, ok: true, problems: [], warnings }
    } catch (error) {
      if (!isEngineError(error)) throw error
      return {
        file,
        ok: false,
        message: error.message,
        problems: error instanceof ValidationError ? error.problems : [],
        warnings: [],
      }
    }
  })
}

export function idOf(definition: unknown): string | undefined {
  const id = (definition as { id?: unknown } | undefined)?.id
  return typeof id === 'string' ? id : undefined
}

/**
 * `workflow.run` steps that name, as a literal, a workflow none of the checked files defines. Only
 * a warning: the callee may be deployed already; a run that calls a missing one fails NOT_FOUND.
 */
export function unknownCallees(definition: unknown, known: ReadonlySet<string>): string[] {
  const steps = (definition as { steps?: unknown } | undefined)?.steps
  if (!Array.isArray(steps)) return []
  return steps.flatMap((step: { id?: unknown; uses?: unknown; with?: { workflow?: unknown } }, i) => {
    const callee = step?.uses === 'workflow.run' ? step.with?.workflow : undefined
    if (typeof callee !== 'string' || isExpressionText(callee) || known.has(callee)) return []
    return [
      `steps[${i}] (${String(step.id)}) calls workflow '${callee}', which none of the checked files defines (fine if it is deployed already)`,
    ]
  })
}

/**
 * An `onFailure` that names a workflow none of the checked files defines. Only a warning, as for
 * `workflow.run`: it may be deployed already; a failed run whose handler is missing starts nothing
 * and says so in its log.
 */
export function unknownFailureHandler(definition: unknown, known: ReadonlySet<string>): string[] {
  const handler = (definition as { onFailure?: unknown } | undefined)?.onFailure
  if (typeof handler !== 'string' || known.has(handler)) return []
  return [
    `onFailure names workflow '${handler}', which none of the checked files defines (fine if it is deployed already)`,
  ]
}

export function formatProblems(message: string, problems: Problem[]): string {
  return [message, ...problems.map((p) => `  ${p.path}: ${p.message}`)].join('\n')
}
