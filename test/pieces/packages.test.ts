// Pieces from outside: folders and npm packages named in the config's `pieces`, checked as they
// load; the `text` piece (written from docs/pieces.md alone) working in workflows end to end.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EngineError } from '../../src/errors.js'
import { loadPieces } from '../../src/piece-sdk/registry.js'
import { resolvePieceSources } from '../../src/piece-sdk/sources.js'
import { Engine } from '../../src/runtime/engine.js'
import { readLogs } from '../../src/store/runs.js'
import { ROOT } from '../helpers/cases.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, runBin } from '../http/server.js'
import { expectFailed, runOk, step, stepOf, workflow } from '../integration/workflows.js'
import { type ServeChild, spawnServe, tempDir, writeFile } from '../triggers/helpers.js'

const FIXTURES = join(ROOT, 'test/fixtures')
const TEXT_PIECE = join(FIXTURES, 'pieces/text')
const BROKEN = join(FIXTURES, 'broken-pieces')

/** A project folder with `name` installed in its node_modules, copied from a fixture piece. */
function projectWithPackage(name: string, from: string, manifest: Record<string, unknown>): string {
  const project = tempDir('project')
  const dir = join(project, 'node_modules', name)
  mkdirSync(dir, { recursive: true })
  cpSync(from, dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, type: 'module', ...manifest }))
  return project
}

describe('resolving piece sources', () => {
  it('takes a folder holding one piece, a folder of pieces, and a module file', () => {
    const one = resolvePieceSources([{ from: TEXT_PIECE, onError: 'fail' }])
    expect(one.files).toEqual([{ file: join(TEXT_PIECE, 'index.js'), origin: TEXT_PIECE, onError: 'fail' }])

    const many = resolvePieceSources([{ from: './test/fixtures/pieces', onError: 'fail' }], ROOT)
    expect(many.files.map((f) => f.origin)).toEqual([
      './test/fixtures/pieces/leaky',
      './test/fixtures/pieces/text',
    ])

    const file = resolvePieceSources([{ from: './index.js', onError: 'fail' }], TEXT_PIECE)
    expect(file.files[0]?.file).toBe(join(TEXT_PIECE, 'index.js'))
  })

  it('finds an npm package in node_modules above the base folder, through its exports', () => {
    const project = projectWithPackage('@acme/piecework-text', TEXT_PIECE, {
      version: '3.0.0',
      exports: { '.': { import: './index.js' } },
    })
    const nested = join(project, 'app', 'config')
    mkdirSync(nested, { recursive: true })
    const { files } = resolvePieceSources([{ from: '@acme/piecework-text', onError: 'fail' }], nested)
    expect(files).toEqual([
      {
        file: join(project, 'node_modules/@acme/piecework-text/index.js'),
        origin: '@acme/piecework-text',
        onError: 'fail',
      },
    ])
  })

  it('names a source that is not there, or skips it when told to', () => {
    expect(() => resolvePieceSources([{ from: 'piecework-piece-nowhere', onError: 'fail' }])).toThrow(
      /'piecework-piece-nowhere' is not a folder path and no npm package of that name is installed/,
    )
    expect(() => resolvePieceSources([{ from: './no/such/folder', onError: 'fail' }], ROOT)).toThrow(
      /'\.\/no\/such\/folder' does not exist/,
    )
    const skipped = resolvePieceSources([{ from: './no/such/folder', onError: 'skip' }], ROOT)
    expect(skipped.files).toEqual([])
    expect(skipped.skipped).toEqual([
      { origin: './no/such/folder', message: expect.stringContaining('does not exist') },
    ])
  })
})

describe('loading pieces', () => {
  it('checks each piece as it loads and names the broken one', async () => {
    const noVersion = {
      file: join(BROKEN, 'no-version/index.js'),
      origin: 'no-version',
      onError: 'fail' as const,
    }
    await expect(loadPieces([noVersion])).rejects.toThrow(/piece 'no-version' has no version/)
    const throws = { file: join(BROKEN, 'throws/index.js'), origin: './throws', onError: 'fail' as const }
    const error = await loadPieces([throws]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EngineError)
    expect((error as Error).message).toMatch(
      /piece \.\/throws .* does not load: this piece fails while it loads/,
    )
  })

  it('leaves a broken piece out when told to skip, and keeps the good ones', async () => {
    const { registry, skipped } = await loadPieces([
      { file: join(BROKEN, 'throws/index.js'), origin: './throws', onError: 'skip' },
      { file: join(TEXT_PIECE, 'index.js'), origin: './text', onError: 'skip' },
    ])
    expect(registry.piece('text')?.version).toBe('1.2.0')
    expect(skipped).toEqual([
      { origin: './throws', message: expect.stringContaining('fails while it loads') },
    ])
  })

  it('refuses a piece that takes the name of a built-in', async () => {
    const project = tempDir('dup')
    writeFileSync(
      join(project, 'index.js'),
      "export default { name: 'http', version: '9.9.9', actions: [] }\n",
    )
    const dup = { file: join(project, 'index.js'), origin: './dup', onError: 'fail' as const }
    await expect(loadPieces([dup])).rejects.toThrow(/has the name of one already loaded from/)
  })
})

describe(`the text piece in a workflow (${TEST_DB})`, () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await Engine.open({
      databaseUrl: await freshDatabaseUrl(),
      threads: 1,
      pieces: [{ from: TEXT_PIECE, onError: 'fail' }],
    })
  })
  afterAll(async () => engine?.close())

  it('slugifies and fills a template, with the step log line kept', async () => {
    const run = await runOk(
      engine,
      workflow('text', [
        step('slug', 'text.slugify', { text: '{{ input.title }}', maxLength: 20 }),
        step(
          'link',
          'text.template',
          {
            template: 'https://example.org/{slug}?v={version}',
            values: { slug: '{{ steps.slug.output.slug }}', version: 2 },
          },
          { needs: ['slug'] },
        ),
      ]),
      { title: 'Crème Brûlée: a Recipe!' },
    )
    expect(stepOf(run, 'slug').output).toEqual({ slug: 'creme-brulee-a-recip' })
    expect(run.output).toEqual({ text: 'https://example.org/creme-brulee-a-recip?v=2' })
    const logs = await readLogs(engine.db.knex, run.id, 100)
    expect(logs.items.map((l) => l.msg)).toContain('slugified')
  })

  it('fails with the piece own error code', async () => {
    const run = await engine.runOnce(workflow('text', [step('slug', 'text.slugify', { text: '!!!' })]), {})
    expectFailed(run, 'slug', 'EMPTY_SLUG')
    const missing = await engine.runOnce(
      workflow('text', [step('fill', 'text.template', { template: 'hi {who}', values: {} })]),
      {},
    )
    expect(expectFailed(missing, 'fill', 'TEMPLATE_MISSING_VALUE').message).toBe('no value for who')
  })
})

describe('pieces named on the command line', () => {
  it('piecework run and validate take --pieces', async () => {
    const file = writeFile(tempDir('cli'), 'slug.yaml', {
      id: 'slug',
      trigger: { uses: 'manual' },
      steps: [{ id: 'slug', uses: 'text.slugify', with: { text: '{{ input.title }}' } }],
    })
    const run = await runBin(['run', file, '--pieces', TEXT_PIECE, '--input', '{"title":"Hello World"}'], {})
    expect(run.code, run.output).toBe(0)
    expect(run.output).toContain('"slug": "hello-world"')
    const valid = await runBin(['validate', file, '--pieces', TEXT_PIECE], {})
    expect(valid.code, valid.output).toBe(0)
    const unknown = await runBin(['validate', file], {})
    expect(unknown.code).toBe(2)
    expect(unknown.output).toContain("uses 'text.slugify': no such piece action")
  })
})

describe(`pieces named in the config of piecework serve (${TEST_DB})`, () => {
  let server: ServeChild
  const dir = tempDir('pieces-serve')

  beforeAll(async () => {
    const port = await freePort()
    writeFile(dir, 'workflows/titles.yaml', {
      id: 'titles',
      trigger: { uses: 'text.submitted', with: { path: 'forms/titles' } },
      steps: [
        { id: 'slug', uses: 'text.slugify', with: { text: '{{ trigger.body.title }}' } },
        {
          id: 'page',
          uses: 'text.template',
          needs: 'slug',
          with: { template: '/posts/{slug}', values: { slug: '{{ steps.slug.output.slug }}' } },
        },
      ],
    })
    const config = writeFile(dir, 'piecework.yaml', {
      server: { port },
      database: { url: await freshDatabaseUrl() },
      workflows: { dir: join(dir, 'workflows') },
      pieces: [TEXT_PIECE, { from: join(BROKEN, 'throws'), onError: 'skip' }],
      log: { level: 'info' },
    })
    server = await spawnServe(['--config', config], {}, port)
  })
  afterAll(async () => server?.stop())

  it('lists the piece with its version and source, and warns about the skipped one', async () => {
    const pieces = (await (await server.request('/api/v1/pieces')).json()) as {
      items: { name: string; version: string; source: string; actions: { uses: string }[] }[]
    }
    const text = pieces.items.find((p) => p.name === 'text')
    expect(text).toMatchObject({ version: '1.2.0', source: expect.stringContaining(TEXT_PIECE) })
    expect(text?.actions.map((a) => a.uses)).toEqual(['text.slugify', 'text.template'])
    expect(pieces.items.find((p) => p.name === 'http')).toMatchObject({ source: 'builtin' })
    expect(server.output()).toMatch(
      /piece skipped: it is broken.*fails while it loads|fails while it loads.*piece skipped/,
    )
  })

  it('runs a workflow started by the piece trigger and answers its output', async () => {
    const res = await server.request('/hooks/forms/titles', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Hello, Pieces' }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ text: '/posts/hello-pieces' })
  })

  // the process once died by a signal here, now and then: it stopped worker threads that were still
  // loading; a start that fails now never starts a thread (src/runtime/executors.ts)
  it('stops the start and names a broken piece that is not marked skip', async () => {
    const config = writeFile(dir, 'broken.yaml', {
      database: { url: 'sqlite::memory:' },
      pieces: [join(BROKEN, 'no-version')],
    })
    const result = await runBin(['serve', '--config', config], {})
    expect(result.code, `signal ${result.signal}: ${result.output}`).toBe(2)
    expect(result.output).toContain("piece 'no-version' has no version")
    expect(result.output).toContain(join(BROKEN, 'no-version'))
  })
})
