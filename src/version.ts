// The package's version, read from the package.json above this file (in source and compiled trees).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findPackageJson(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) return file
    dir = dirname(dir)
  }
  return undefined
}

const file = findPackageJson()
export const PACKAGE_VERSION: string = file ? JSON.parse(readFileSync(file, 'utf8')).version : '0.0.0'
