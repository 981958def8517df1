// Every runnable example of README.md and docs/*.md is run here and checked against what its marker
// expects (see doc-examples.ts for the markers): workflows through the engine API, commands through
// the compiled CLI. Blocks that are not run are still parsed, and whole workflows still validated.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, type ExpectStatic, expect, it } from 'vitest'
import { isEngineError } from '../../src/errors.js'
import { Engine } from '../../src/runtime/engine.js'
import { expectable, ROOT } from '../helpers/cases.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'
import {
  DOC_FILES,
  type DocBlock,
  definitionOf,
  fileNameOf,
  isWholeWorkflow,
  type Marker,
  readBlocks,
} from './doc-examples.js'
import { type StandInApi, startStandInApi } from './stand-in-api.js'

const exec = promisify(execFile)
const blocks = DOC_FILES.flatMap(readBlocks)
const workflowBlocks = blocks.filter((b) => (b.lang === 'yaml' || b.lang === 'json') && b.markers.length > 0)
const commandBlocks = blocks.filter((b) => b.lang === 'sh' && b.markers.some((m) => !m.session))
/** The ```sh blocks marked `session: NAME`, by file and name, in document order. */
const sessions = new Map<string, { block: DocBlock; marker: Marker }[]>()
for (const block of blocks.filter((b) => b.lang === 'sh')) {
  for (const marker of block.markers.filter((m) => m.session)) {
    const key = `${block.file} (session ${marker.session})`
    sessions.set(key, [...(sessions.get(key) ?? []), { block, marker }])
  }
}

let engine: Engine
let api: StandInApi

beforeAll(async () => {
  engine = await Engine.open({
    databaseUrl: await freshDatabaseUrl(),
    threads: 2,
    // docs/pieces.md's example workflow uses the piece it builds, which the fixtures hold
    pieces: [{ from: join(ROOT, 'test/fixtures/pieces/text'), onError: 'fail' }],
    // the secret the examples of $secret and http.request's auth name (docs/workflows.md#secrets)
    secrets: { values: { 'api-token': 'doc-example-token-1234' } },
  })
  api = await startStandInApi()
})

/** The `piecework serve` of the examples marked `serve: true`, started by the first of them. */
let serving: Promise<ServeProcess> | undefined
function servedUrl(): Promise<string> {
  serving ??= (async () => {
    const port = await freePort()
    const server = new ServeProcess(port, {
      ...serveEnv(port, await freshDatabaseUrl()),
      // docs/cli.md stores secrets through the server
      PIECEWORK_SECRETS_KEY: randomBytes(32).toString('base64'),
    })
    await server.start()
    return server
  })()
  return serving.then((server) => server.url)
}

afterAll(async () => {
  await engine?.close()
  await api?.close()
  await (await serving)?.stop()
})

/** The definition with calls to the marker's `api` sent to the local stand-in instead. */
function served<T>(value: T, marker: Marker): T {
  if (!marker.api) return value
  return JSON.parse(JSON.stringify(value).replaceAll(marker.api, api.url))
}

function workflowNamed(file: string, id: string): Record<string, unknown> {
  const found = blocks.find(
    (b) => b.file === file && isWholeWorkflow(b) && (b.value as { id: string }).id === id,
  )
  if (!found) throw new Error(`no block of ${file} defines the workflow '${id}'`)
  return found.value as Record<string, unknown>
}

async function runExample(block: DocBlock, marker: Marker) {
  const definition = definitionOf(block)
  if (!definition) throw new Error(`${block.where}: an example must be a workflow or a list of steps`)
  expect(marker.expect, `${block.where}: an example needs an expected status`).toHaveProperty('status')
  for (const id of marker.workflows ?? []) await engine.deploy(served(workflowNamed(block.file, id), marker))
  const signals = (marker.signals ?? []).map((s) => ({ name: s.name, data: s.data ?? null }))
  const run = await engine.runOnce(served(definition, marker), marker.input ?? {}, signals).catch((e) => {
    throw isEngineError(e) ? new Error(`${e.code}: ${e.message} ${JSON.stringify(e.details)}`) : e
  })
  expect(expectable(run), block.where).toMatchObject(marker.expect)
}

/** One folder per markdown file, holding the blocks it tells the reader to save (`# hello.yaml`). */
const folders = new Map<string, string>()
function folderFor(file: string): string {
  let dir = folders.get(file)
  if (dir) return dir
  dir = mkdtempSync(join(tmpdir(), 'piecework-docs-'))
  for (const link of ['config', 'dist']) symlinkSync(join(ROOT, link), join(dir, link))
  for (const block of blocks.filter((b) => b.file === file)) {
    const name = fileNameOf(block)
    if (!name) continue
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), block.text)
  }
  folders.set(file, dir)
  return dir
}

/** The block's first command line, to name it by. */
function commandOf(block: DocBlock): string {
  return block.text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')) ?? ''
}

// `piecework` and `npx piecework` are the compiled bin; on PostgreSQL a `run` gets a fresh database
const SHELL_PRELUDE = `
piecework() {
  if [ "$1" = run ] && [ -n "$PW_DB" ]; then node "$PW_BIN" "$@" --db "$PW_DB"; else node "$PW_BIN" "$@"; fi
}
npx() { if [ "$1" = piecework ]; then shift; piecework "$@"; else echo "npx $1: not in the tests" >&2; return 127; fi; }
`

async function runCommand(block: DocBlock, marker: Marker, expect: ExpectStatic) {
  const command = commandOf(block)
  const db = TEST_DB === 'postgres' && !block.text.includes('--db') ? await freshDatabaseUrl() : ''
  const env = {
    ...process.env,
    PW_BIN: join(ROOT, 'dist/src/cli.js'),
    PW_DB: db,
    ...(marker.serve ? { PIECEWORK_SERVER_URL: await servedUrl() } : {}),
  }
  const result = await exec('bash', ['-c', `${SHELL_PRELUDE}\n${block.text}`], {
    cwd: folderFor(block.file),
    env,
  }).then(
    ({ stdout, stderr }) => ({ exit: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      exit: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  )
  const {
    exit = 0,
    run,
    stdout = [],
    stderr = [],
  } = marker.expect as {
    exit?: number
    run?: Record<string, unknown>
    stdout?: string[]
    stderr?: string[]
  }
  expect(run ?? stdout.length + stderr.length, `${block.where}: an example needs an expectation`).toBeTruthy()
  expect(result.exit, `${block.where}: ${command}\n${result.stderr}`).toBe(exit)
  if (run) expect(expectable(JSON.parse(result.stdout)), block.where).toMatchObject(run)
  for (const text of stdout) expect(result.stdout, block.where).toContain(text)
  for (const text of stderr) expect(result.stderr, block.where).toContain(text)
}

/** The address the docs write for a local `npm start`; a session's blocks get their server's instead. */
const DOCS_URL = 'http://127.0.0.1:3000'

/**
 * The blocks of one session in one bash, in document order, against a fresh `piecework serve` that
 * has deployed config/workflows/; what each block wrote and its exit, checked against its marker.
 */
async function runSession(steps: { block: DocBlock; marker: Marker }[]): Promise<string[]> {
  const port = await freePort()
  const server = new ServeProcess(port, {
    ...serveEnv(port, await freshDatabaseUrl()),
    PIECEWORK_WORKFLOWS_DIR: join(ROOT, 'config/workflows'),
    PIECEWORK_SECRETS_KEY: randomBytes(32).toString('base64'),
  })
  await server.start()
  try {
    const tag = `@@doc-block-${randomBytes(6).toString('hex')}`
    const script = steps
      .map(({ block }, n) =>
        [
          `printf '\n${tag} ${n}\n'; printf '\n${tag} ${n}\n' >&2`,
          block.text.replaceAll(DOCS_URL, server.url),
          `printf '\n${tag} exit %s\n' "$?"`,
        ].join('\n'),
      )
      .join('\n')
    const { stdout, stderr } = await exec('bash', ['-c', script], {
      cwd: mkdtempSync(join(tmpdir(), 'piecework-docs-')),
      // a stand-in for the token the secrets example stores
      env: { ...process.env, GITHUB_TOKEN: 'doc-example-token-1234' },
    }).catch((e: { stdout: string; stderr: string }) => e)
    const outs = stdout.split(new RegExp(`\\n${tag} \\d+\\n`)).slice(1)
    const errs = stderr.split(new RegExp(`\\n${tag} \\d+\\n`)).slice(1)
    return steps.flatMap(({ block, marker }, n) => {
      const [out = '', exit = 'none'] = (outs[n] ?? '').split(new RegExp(`\\n${tag} exit `))
      const err = errs[n] ?? ''
      const { exit: expected = 0, stdout: texts = [] } = marker.expect as { exit?: number; stdout?: string[] }
      const shown = `${block.where}: ${commandOf(block)}\n--- stdout:\n${out}\n--- stderr:\n${err}`
      return [
        ...(Number(exit) === expected ? [] : [`${shown}\n--- exit ${exit.trim()}, not ${expected}`]),
        ...texts.filter((t) => !out.includes(t)).map((t) => `${shown}\n--- stdout lacks ${t}`),
      ]
    })
  } finally {
    await server.stop()
  }
}

describe(`the examples in the docs (${TEST_DB})`, () => {
  it('are code blocks that parse, with markers that do', () => {
    const problems = blocks.flatMap((b) => [
      ...b.problems,
      ...(b.parseError ? [`${b.where}: the ${b.lang} block does not parse: ${b.parseError}`] : []),
    ])
    expect(problems).toEqual([])
  })

  it('run every whole workflow, or say why not', () => {
    const unmarked = blocks.filter((b) => isWholeWorkflow(b) && b.markers.length === 0 && !b.notRun)
    expect(
      unmarked.map((b) => `${b.where}: a workflow with neither an example marker nor a "not run" one`),
    ).toEqual([])
  })

  it('hold whole workflows that are valid, those not run included', () => {
    const invalid: string[] = []
    for (const b of blocks.filter(isWholeWorkflow)) {
      try {
        engine.compile(b.value)
      } catch (error) {
        invalid.push(
          `${b.where}: ${(error as Error).message} ${JSON.stringify((error as { problems?: unknown }).problems)}`,
        )
      }
    }
    expect(invalid).toEqual([])
  })

  for (const block of workflowBlocks) {
    block.markers.forEach((marker, n) => {
      it(`${block.where}${block.markers.length > 1 ? ` (run ${n + 1})` : ''} runs as written`, () =>
        runExample(block, marker))
    })
  }
})

// each command is a process of its own: they run side by side
describe.concurrent(`the command examples in the docs (${TEST_DB})`, () => {
  for (const block of commandBlocks) {
    block.markers.forEach((marker) => {
      it(`${block.where}: ${commandOf(block)}`, ({ expect }) => runCommand(block, marker, expect))
    })
  }
})

// a session's blocks run one after the other, each seeing what the earlier ones did
describe(`the command sessions in the docs (${TEST_DB})`, () => {
  it('run every ```sh block of README.md and docs/, or say why not', () => {
    const unmarked = blocks.filter((b) => b.lang === 'sh' && b.markers.length === 0 && !b.notRun)
    expect(
      unmarked.map((b) => `${b.where}: a block with neither an example marker nor a "not run" one`),
    ).toEqual([])
  })

  for (const [name, steps] of sessions) {
    it(`${name}: ${steps.length} blocks in order`, async () => {
      expect(await runSession(steps)).toEqual([])
    })
  }
})
