// Where a step runs: inline actions of trusted built-in pieces on the engine's thread; other actions
// of trusted built-ins in its worker pool; any piece from a package, even when it asks to run
// inline, in a worker thread of a sandbox process.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PieceDefinition } from '../../src/piece-sdk/define.js'
import { BUILTIN_PIECES_DIR, loadRegistry } from '../../src/piece-sdk/registry.js'
import { placeOf, StepDispatcher } from '../../src/runtime/dispatch.js'
import { Engine } from '../../src/runtime/engine.js'
import { Executors } from '../../src/runtime/executors.js'
import { ROOT } from '../helpers/cases.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { runOk, step, stepOf, workflow } from './workflows.js'

const WHERE = join(ROOT, 'test/fixtures/pieces-inline/where')

const task = (uses: string, props: unknown = {}) => ({
  uses,
  props,
  input: null,
  inputs: {},
  run: { id: 'r1', workflowId: 'w', workflowVersion: 1 },
  stepId: 's',
  attempt: 1,
  idempotencyKey: 'r1:s',
  timeoutMs: 5_000,
  maxOutputBytes: 1_000_000,
})

describe('the step dispatcher', () => {
  let executors: Executors
  beforeAll(() => {
    executors = new Executors({
      threads: 1,
      memoryLimitMb: 64,
      sandbox: { processes: 1, threadsPerProcess: 1, processMemoryMb: 512 },
      pieceFiles: [join(WHERE, 'index.js')],
    })
  })
  afterAll(async () => executors?.close())

  it('runs an inline action of a built-in piece on its own thread', async () => {
    const registry = await loadRegistry()
    const where = (await import(pathToFileURL(join(WHERE, 'index.js')).href)) as { default: PieceDefinition }
    registry.add({ ...where.default, trusted: true }, join(BUILTIN_PIECES_DIR, 'where/index.js'))
    const reply = await new StepDispatcher(registry, executors).run(
      task('where.thread'),
      new AbortController().signal,
      () => {},
    )
    expect(reply).toMatchObject({ ok: true, kind: 'fired', handle: 'out' })
    expect(JSON.parse((reply as { json: string }).json)).toEqual({ threadId: 0, pid: process.pid })
  })

  it('runs an untrusted built-in piece in a sandbox process, not on the engine', async () => {
    const registry = await loadRegistry()
    const where = (await import(pathToFileURL(join(WHERE, 'index.js')).href)) as { default: PieceDefinition }
    registry.add(where.default, join(BUILTIN_PIECES_DIR, 'where/index.js'))
    const dispatcher = new StepDispatcher(registry, executors)
    expect(placeOf(registry, 'where.thread')).toBe('sandbox')
    expect(placeOf(registry, 'code.run')).toBe('sandbox')
    expect(placeOf(registry, 'http.request')).toBe('pool')
    expect(placeOf(registry, 'data.set')).toBe('inline')
    const reply = await dispatcher.run(task('where.thread'), new AbortController().signal, () => {})
    const ran = JSON.parse((reply as { json: string }).json) as { threadId: number; pid: number }
    expect(ran.pid).not.toBe(process.pid)
    expect(ran.threadId).toBeGreaterThan(0)
  })

  it('checks props and output inline as a worker does', async () => {
    const dispatcher = new StepDispatcher(await loadRegistry(), executors)
    const reply = await dispatcher.run(
      task('flow.fail', { code: 'NOPE', message: 'no' }),
      new AbortController().signal,
      () => {},
    )
    expect(reply).toMatchObject({ ok: false, error: { code: 'NOPE', message: 'no', retryable: false } })
    const bad = await dispatcher.run(
      task('data.set', { value: 1, extra: true }),
      new AbortController().signal,
      () => {},
    )
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_PROPS' } })
  })
})

describe(`inline actions in an engine (${TEST_DB})`, () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await Engine.open({
      databaseUrl: await freshDatabaseUrl(),
      threads: 1,
      pieces: [{ from: WHERE, onError: 'fail' }],
    })
  })
  afterAll(async () => engine?.close())

  it('runs a package piece in a sandbox process even when it asks to run inline', async () => {
    const run = await runOk(engine, workflow('where', [step('t', 'where.thread', {})]))
    const ran = stepOf(run, 't').output as { threadId: number; pid: number }
    expect(ran.threadId).toBeGreaterThan(0)
    expect(ran.pid).not.toBe(process.pid)
  })
})
