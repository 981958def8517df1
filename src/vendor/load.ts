// Packages that every start loads, read with require from the one-file bundles that `npm run build`
// makes in dist/vendor (scripts/build-vendor.mjs): one file to read and compile instead of dozens
// or hundreds to resolve, and no scan of a CommonJS package's text for the names an ES module
// import would take from it. Run from source without a build (a script under tsx), the installed
// package is loaded instead: the same code, unbundled.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const here = import.meta.url
const bundles = new URL(here.endsWith('.ts') ? '../../dist/vendor/' : '../../vendor/', here)
const require = createRequire(here)

export function vendored<T>(name: string): T {
  const bundle = fileURLToPath(new URL(`${name}.cjs`, bundles))
  return require(existsSync(bundle) ? bundle : name) as T
}
