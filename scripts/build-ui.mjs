// Builds the run monitor (ui/) into dist/ui with esbuild: index.html, one entry script and its
// stylesheet, and chunks loaded on demand. Run by `npm run build`, hence by `npm install`.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist/ui')

rmSync(out, { recursive: true, force: true })
mkdirSync(join(out, 'assets'), { recursive: true })
copyFileSync(join(root, 'ui/index.html'), join(out, 'index.html'))

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'ui/src/main.tsx' },
  outdir: join(out, 'assets'),
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  chunkNames: 'chunk-[hash]',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
})
if (process.argv.includes('--sizes')) {
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) console.log(file, bytes)
}
