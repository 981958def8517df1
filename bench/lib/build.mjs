// The benches run the compiled engine (workers only run compiled code). dist/ is built when it is
// missing or older than a source file, as `npm run build` would, but incrementally (the build info
// lives in bench/.cache/): a rebuild after a small change takes seconds, not a quarter minute.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { ROOT } from './server.mjs'

const SOURCES = [
  'src',
  'pieces',
  'mikro-orm.config.ts',
  'tsconfig.json',
  'tsconfig.build.json',
  'package.json',
]
const CACHE = join(ROOT, 'bench/.cache')
const BUILD_INFO = join(CACHE, 'tsconfig.build.tsbuildinfo')

function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false })
  if (!stat) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map((entry) => newest(join(path, entry))))
}

/** Builds when needed (always with `force`); returns whether it built. */
export function ensureBuilt({ force = false } = {}) {
  const output = join(ROOT, 'dist/src/cli.js')
  const built = existsSync(output) ? statSync(output).mtimeMs : 0
  const sources = Math.max(...SOURCES.map((s) => newest(join(ROOT, s))))
  if (!force && built > sources) return false
  mkdirSync(CACHE, { recursive: true })
  writeFileSync(join(CACHE, '.gitignore'), '*\n')
  // without outputs the build info would claim that nothing needs emitting
  if (force || built === 0) rmSync(BUILD_INFO, { force: true })
  const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc')
  execFileSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', BUILD_INFO],
    {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  return true
}
