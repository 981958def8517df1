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

  add(piece: PieceDefinition, origin: string): void {
    const problem = checkPiece(piece)
    if (problem) throw new EngineError('PIECE_INVALID', `piece at ${origin}: ${problem}`)
    if (this.pieces.has(piece.name)) {
      throw new EngineError('PIECE_INVALID', `piece '${piece.name}' at ${origin} is loaded twice`)
    }
    this.pieces.set(piece.name, piece)
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

function checkPiece(piece: PieceDefinition): string | undefined {
  if (typeof piece !== 'object' || piece === null) return 'the default export is not a piece'
  if (typeof piece.name !== 'string' || !PIECE_NAME.test(piece.name)) return `bad piece name '${piece.name}'`
  if (typeof piece.version !== 'string') return `piece '${piece.name}' has no version`
  const names = new Set<string>()
  for (const action of piece.actions ?? []) {
    if (typeof action.run !== 'function') return `action '${piece.name}.${action.name}' has no run()`
    if (names.has(action.name)) return `action '${piece.name}.${action.name}' is defined twice`
    names.add(action.name)
  }
  return undefined
}

function indexFile(dir: string): string | undefined {
  return ['index.js', 'index.ts'].map((f) => join(dir, f)).find((f) => existsSync(f))
}

/** Imports every piece folder under each directory. */
export async function loadRegistry(dirs: string[] = [BUILTIN_PIECES_DIR]): Promise<PieceRegistry> {
  const registry = new PieceRegistry()
  for (const dir of dirs) {
    const folders = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())
    for (const folder of folders.sort((a, b) => a.name.localeCompare(b.name))) {
      const file = indexFile(join(dir, folder.name))
      if (!file) continue
      const mod = (await import(pathToFileURL(file).href)) as { default: PieceDefinition }
      registry.add(mod.default, file)
    }
  }
  return registry
}
