// Bundles the CommonJS packages that every start loads (knex, yaml, jsonata, commander, prom-client)
// into one file each in dist/vendor, which src/vendor/ loads with require: one file read and
// compiled instead of hundreds resolved one by one (knex alone is 330 files with lodash), and none
// parsed again by Node's scan for the named exports of a package imported from a module. Run by
// `npm run build`, hence by `npm install`.
import { rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist/vendor')
const resolve = createRequire(join(root, 'package.json')).resolve

/** The packages, each bundled with what it requires; drivers stay outside, loaded from node_modules. */
const VENDORED = ['knex', 'yaml', 'jsonata', 'commander', 'prom-client']

// knex requires each dialect only when a client of it is made; the engine makes SQLite and
// PostgreSQL clients, so the others are left out of the bundle and fail plainly if ever asked for
const UNUSED_DIALECTS = /^\.\/(cockroachdb|mssql|mysql2?|oracle|oracledb|pgnative|redshift)$/
const knexDialects = {
  name: 'knex-dialects',
  setup(on) {
    on.onResolve({ filter: UNUSED_DIALECTS }, (args) =>
      /knex[\\/]lib[\\/]dialects[\\/]index\.js$/.test(args.importer)
        ? { path: args.path.slice(2), namespace: 'unused-dialect' }
        : undefined,
    )
    on.onLoad({ filter: /.*/, namespace: 'unused-dialect' }, (args) => ({
      contents: `throw new Error("piecework's build of knex has no ${args.path} dialect")`,
      loader: 'js',
    }))
  },
}

const DRIVERS = [
  'better-sqlite3',
  'pg',
  'pg-native',
  'pg-query-stream',
  'sqlite3',
  'mysql',
  'mysql2',
  'oracledb',
  'tedious',
]

rmSync(out, { recursive: true, force: true })
await Promise.all(
  VENDORED.map((name) =>
    build({
      absWorkingDir: root,
      entryPoints: [resolve(name)],
      outfile: join(out, `${name}.cjs`),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: ['node20'],
      external: DRIVERS,
      plugins: [knexDialects],
      legalComments: 'inline',
      logLevel: 'warning',
    }),
  ),
)
