// What a start reads: the CommonJS packages every command needs (knex with lodash, yaml, jsonata,
// commander, prom-client) come from their one-file bundles in dist/vendor, which the build makes
// (scripts/build-vendor.mjs), not from node_modules one file each: an import of one of them by
// its package name would put hundreds of files back into each start.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cases.js'
import { BIN, childEnv, freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'

const exec = promisify(execFile)
const PRELOAD = join(ROOT, 'test/fixtures/preload/loaded-files.mjs')
const HELLO = join(ROOT, 'config/workflows/hello.yaml')
const VENDORED = ['knex', 'lodash', 'yaml', 'jsonata', 'commander', 'prom-client']

function preload(): { env: Record<string, string>; loaded: () => string[] } {
  const out = join(mkdtempSync(join(tmpdir(), 'piecework-loaded-')), 'loaded.json')
  return {
    env: { NODE_OPTIONS: `--import=${PRELOAD}`, LOADED_FILES_OUT: out },
    loaded: () => JSON.parse(readFileSync(out, 'utf8')) as string[],
  }
}

/** The packages under node_modules that the files belong to. */
function packagesOf(files: string[]): Set<string> {
  const marker = `node_modules${sep}`
  return new Set(
    files
      .filter((file) => file.includes(marker))
      .map((file) => {
        const [scope = '', name = ''] = file.slice(file.lastIndexOf(marker) + marker.length).split(sep)
        return scope.startsWith('@') ? `${scope}/${name}` : scope
      }),
  )
}

function expectBundled(files: string[], bundles: string[]): void {
  const packages = packagesOf(files)
  for (const name of VENDORED) expect(packages, `${name} from node_modules`).not.toContain(name)
  for (const name of bundles) expect(files).toContain(join(ROOT, 'dist/vendor', `${name}.cjs`))
}

describe('the files a start loads', () => {
  it('validate and run take yaml, jsonata, commander and knex from their bundles', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'piecework-start-'))
    const validate = preload()
    await exec('node', [BIN, 'validate', HELLO], { cwd, env: childEnv(validate.env) })
    expectBundled(validate.loaded(), ['yaml', 'jsonata', 'commander'])

    const run = preload()
    await exec('node', [BIN, 'run', HELLO], { cwd, env: childEnv(run.env) })
    const files = run.loaded()
    expectBundled(files, ['yaml', 'jsonata', 'commander', 'knex'])
    // the SQLite driver and what it needs to find its native module: nothing else of node_modules
    expect(files.length).toBeLessThan(40)
  })

  it('serve takes prom-client and knex from their bundles too', async () => {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'piecework-start-'))
    const loaded = preload()
    const server = new ServeProcess(port, {
      ...serveEnv(port, `sqlite:${join(dir, 'db.sqlite')}`),
      ...loaded.env,
    })
    await server.start()
    expect((await server.request('/metrics')).status).toBe(200)
    expect(await server.stop()).toBe(0)
    expectBundled(loaded.loaded(), ['yaml', 'jsonata', 'commander', 'knex', 'prom-client'])
  })
})
