// Where the config's `pieces:` entries point: a folder holding one piece, a folder of piece
// folders, a module file, or an npm package installed in node_modules. Each resolves to the entry
// modules to import; nothing is imported here.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EngineError } from '../errors.js'
import type { PieceFile } from './registry.js'

export interface PieceSource {
  /** A path (`./pieces-extra`, `/opt/pieces/text`) or an npm package name (`@acme/piecework-jira`). */
  from: string
  onError: 'fail' | 'skip'
}

const ENTRY_FILES = ['index.js', 'index.mjs']

const isPath = (from: string) => from.startsWith('.') || isAbsolute(from)

/** The module a package folder exports: `exports` (import or default), else `main`, else index.js. */
function packageEntry(dir: string): string | undefined {
  const manifestFile = join(dir, 'package.json')
  if (!existsSync(manifestFile)) return ENTRY_FILES.map((f) => join(dir, f)).find((f) => existsSync(f))
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { exports?: unknown; main?: string }
  const fromExports = exportTarget(manifest.exports)
  const entry = fromExports ?? manifest.main ?? 'index.js'
  const file = resolve(dir, entry)
  return existsSync(file) ? file : undefined
}

function exportTarget(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports
  if (typeof exports !== 'object' || exports === null) return undefined
  const map = exports as Record<string, unknown>
  if ('.' in map) return exportTarget(map['.'])
  return exportTarget(map.import ?? map.default ?? map.node)
}

function isPieceFolder(dir: string): boolean {
  return existsSync(join(dir, 'package.json')) || ENTRY_FILES.some((f) => existsSync(join(dir, f)))
}

/** node_modules/<name> in the base folder or any folder above it, then beside piecework itself. */
function findPackage(name: string, baseDir: string): string | undefined {
  // piecework's own tree (the repository, or dist/ inside it), found as the built-in pieces are
  const starts = [baseDir, fileURLToPath(new URL('../..', import.meta.url))]
  for (const start of starts) {
    let dir = resolve(start)
    for (;;) {
      const candidate = join(dir, 'node_modules', name)
      if (existsSync(join(candidate, 'package.json'))) return candidate
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  }
  return undefined
}

function resolveOne(source: PieceSource, baseDir: string): Omit<PieceFile, 'onError'>[] {
  const fail = (message: string) => new EngineError('PIECE_INVALID', `pieces: '${source.from}' ${message}`)
  if (!isPath(source.from)) {
    const dir = findPackage(source.from, baseDir)
    if (!dir)
      throw fail(
        `is not a folder path and no npm package of that name is installed (npm install ${source.from})`,
      )
    const file = packageEntry(dir)
    if (!file) throw fail(`is installed at ${dir} but has no entry module (exports, main or index.js)`)
    return [{ file, origin: source.from }]
  }
  const path = resolve(baseDir, source.from)
  if (!existsSync(path)) throw fail(`does not exist (looked at ${path})`)
  if (statSync(path).isFile()) return [{ file: path, origin: source.from }]
  if (isPieceFolder(path)) {
    const file = packageEntry(path)
    if (!file) throw fail(`has a package.json whose entry module does not exist`)
    return [{ file, origin: source.from }]
  }
  const pieces = readdirSync(path, { withFileTypes: true })
    .filter((d) => d.isDirectory() && isPieceFolder(join(path, d.name)))
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => {
      const file = packageEntry(join(path, d.name))
      return file ? [{ file, origin: `${source.from}/${d.name}` }] : []
    })
  if (pieces.length === 0) throw fail(`holds no piece (no index.js or package.json in it or its sub-folders)`)
  return pieces
}

/**
 * The entry modules of every configured piece source. A source that cannot be found fails (with a
 * message naming it) or, with `onError: skip`, is reported in `skipped`.
 */
export function resolvePieceSources(
  sources: PieceSource[],
  baseDir = process.cwd(),
): { files: PieceFile[]; skipped: { origin: string; message: string }[] } {
  const files: PieceFile[] = []
  const skipped: { origin: string; message: string }[] = []
  for (const source of sources) {
    try {
      files.push(...resolveOne(source, baseDir).map((f) => ({ ...f, onError: source.onError })))
    } catch (error) {
      if (source.onError === 'fail') throw error
      skipped.push({ origin: source.from, message: (error as Error).message })
    }
  }
  return { files, skipped }
}
