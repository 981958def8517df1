// Finds pieces: every folder under a pieces directory whose index module default-exports a piece.
// The same registry is built on the main thread (validation, catalogue) and in each worker (running).
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { EngineError } from '../errors.js'
import type { ActionDefinition, PieceDefinition, TriggerDefinition } from './define.js'

const PIECE_NAME = /^[a-z0-9][a-z0-9-]*$/

/** The built-in pieces: `pieces/` beside `src/`, in source and in the compiled tree alike. */
export const BUILTIN_PIECES_DIR = fileURLToPath(new URL('../../pieces', import.meta.url))

export class PieceRegistry {
  private readonly pieces = new Map<string, PieceDefinition>()

  private readonly origins = new Map<string, string>()

  add(piece: PieceDefinition, origin: string): void {
    const problem = checkPiece(piece)
    if (problem) throw new EngineError('PIECE_INVALID', `piece at ${origin}: ${problem}`)
    if (this.pieces.has(piece.name)) {
      throw new EngineError(
        'PIECE_INVALID',
        `piece '${piece.name}' at ${origin} has the name of one already loaded from ${this.origins.get(piece.name)}`,
      )
    }
    this.pieces.set(piece.name, piece)
    this.origins.set(piece.name, origin)
  }

  /** Where a piece was loaded from: `builtin`, or the config entry and module file. */
  origin(name: string): string | undefined {
    const origin = this.origins.get(name)
    return origin?.startsWith(BUILTIN_PIECES_DIR) ? 'builtin' : origin
  }

  list(): PieceDefinition[] {
    return [...this.pieces.values()]
  }

  piece(name: string): PieceDefinition | undefined {
    return this.pieces.get(name)
  }

  /** `uses` is `piece.action`. */
  action(uses: string): ActionDefinition | undefined {
    const [pieceName, actionName] = splitUses(uses)
    return this.pieces.get(pieceName)?.actions.find((a) => a.name === actionName)
  }

  /** `piece.trigger`, or a bare trigger name (`manual`, `webhook`) found in any piece. */
  trigger(uses: string): TriggerDefinition | undefined {
    if (uses.includes('.')) {
      const [pieceName, triggerName] = splitUses(uses)
      return this.pieces.get(pieceName)?.triggers?.find((t) => t.name === triggerName)
    }
    for (const piece of this.pieces.values()) {
      const trigger = piece.triggers?.find((t) => t.name === uses)
      if (trigger) return trigger
    }
    return undefined
  }
}

export function splitUses(uses: string): [string, string] {
  const dot = uses.indexOf('.')
  return dot < 0 ? [uses, ''] : [uses.slice(0, dot), uses.slice(dot + 1)]
}

const ACTION_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/
const TRIGGER_KINDS = new Set(['manual', 'webhook', 'schedule'])
const AUTH_TYPES = new Set(['apiKey', 'bearer', 'basic'])

const isSchema = (value: unknown) =>
  typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'schema'

/** What is wrong with a loaded module's default export, or undefined when it is a sound piece. */
export function checkPiece(piece: PieceDefinition): string | undefined {
  if (typeof piece !== 'object' || piece === null) return 'the default export is not a piece'
  if (typeof piece.name !== 'string' || !PIECE_NAME.test(piece.name))
    return `bad piece name '${piece.name}' (lower case letters, digits and dashes)`
  const label = `piece '${piece.name}'`
  if (typeof piece.version !== 'string' || piece.version === '') return `${label} has no version`
  if (!Array.isArray(piece.actions)) return `${label} has no actions list`
  if (piece.auth !== undefined && !AUTH_TYPES.has(piece.auth?.type))
    return `${label}: auth.type must be apiKey, bearer or basic`
  const names = new Set<string>()
  for (const action of piece.actions) {
    const name = `${piece.name}.${action?.name}`
    if (typeof action?.name !== 'string' || !ACTION_NAME.test(action.name)) return `bad action name '${name}'`
    if (typeof action.run !== 'function') return `action '${name}' has no run()`
    if (!isSchema(action.props)) return `action '${name}': props is not a valibot schema`
    if (action.output !== undefined && !isSchema(action.output))
      return `action '${name}': output is not a valibot schema`
    if (names.has(action.name)) return `action '${name}' is defined twice`
    names.add(action.name)
  }
  for (const trigger of piece.triggers ?? []) {
    const name = `${piece.name}.${trigger?.name}`
    if (typeof trigger?.name !== 'string' || !ACTION_NAME.test(trigger.name))
      return `bad trigger name '${name}'`
    if (!TRIGGER_KINDS.has(trigger.kind)) return `trigger '${name}': kind must be manual, webhook or schedule`
    if (!isSchema(trigger.props)) return `trigger '${name}': props is not a valibot schema`
  }
  return undefined
}

function indexFile(dir: string): string | undefined {
  return ['index.js', 'index.ts'].map((f) => join(dir, f)).find((f) => existsSync(f))
}

/** A piece module to load besides the built-ins, and what to do when it is broken. */
export interface PieceFile {
  file: string
  /** How the config named it, for messages. */
  origin: string
  onError: 'fail' | 'skip'
}

export interface LoadedRegistry {
  registry: PieceRegistry
  /** Pieces left out (`onError: skip`), each with the reason. */
  skipped: { origin: string; message: string }[]
}

/** Imports the built-in pieces, then each extra piece module; a broken one fails or is skipped. */
export async function loadPieces(
  files: PieceFile[] = [],
  builtinDir = BUILTIN_PIECES_DIR,
): Promise<LoadedRegistry> {
  const registry = new PieceRegistry()
  const folders = readdirSync(builtinDir, { withFileTypes: true }).filter((d) => d.isDirectory())
  for (const folder of folders.sort((a, b) => a.name.localeCompare(b.name))) {
    const file = indexFile(join(builtinDir, folder.name))
    if (!file) continue
    const mod = (await import(pathToFileURL(file).href)) as { default: PieceDefinition }
    registry.add(mod.default, file)
  }
  const skipped: LoadedRegistry['skipped'] = []
  for (const piece of files) {
    try {
      let mod: { default?: PieceDefinition }
      try {
        mod = (await import(pathToFileURL(piece.file).href)) as { default?: PieceDefinition }
      } catch (error) {
        throw new EngineError(
          'PIECE_INVALID',
          `piece ${piece.origin} (${piece.file}) does not load: ${(error as Error).message}`,
        )
      }
      registry.add(mod.default as PieceDefinition, `${piece.origin} (${piece.file})`)
    } catch (error) {
      if (piece.onError === 'fail') throw error
      skipped.push({ origin: piece.origin, message: (error as Error).message })
    }
  }
  return { registry, skipped }
}

/** The registry of the built-ins and the given pieces; throws on any broken one. */
export async function loadRegistry(files: PieceFile[] = []): Promise<PieceRegistry> {
  return (await loadPieces(files)).registry
}
