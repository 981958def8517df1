// Which thread runs a step: built-in actions marked inline run on the engine's thread; every other
// action, and any action of a piece from a package even when it asks, runs in a worker.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PieceDefinition } from '../../src/piece-sdk/define.js'
import { BUILTIN_PIECES_DIR, loadRegistry } from '../../src/piece-sdk/registry.js'
import { StepDispatcher } from '../../src/runtime/dispatch.js'
import { Engine } from '../../src/runtime/engine.js'
import { WorkerPool } from '../../src/workers/pool.js'
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
  let pool: WorkerPool
  beforeAll(() => {
    pool = new WorkerPool({ threads: 1, memoryLimitMb: 64, pieceFiles: [join(WHERE, 'index.js')] })
  })
  afterAll(async () => pool?.close())

  it('runs an inline action of a built-in piece on its own thread', async () => {
    const registry = await loadRegistry()
    const where = (await import(pathToFileURL(join(WHERE, 'index.js')).href)) as { default: PieceDefinition }
    registry.add(where.default, join(BUILTIN_PIECES_DIR, 'where/index.js'))
    const reply = await new StepDispatcher(registry, pool).run(
      task('where.thread'),
      new AbortController().signal,
      () => {},
    )
    expect(reply).toEqual({ ok: true, kind: 'fired', handle: 'out', json: '{"threadId":0}' })
  })

  it('checks props and output inline as a worker does', async () => {
    const dispatcher = new StepDispatcher(await loadRegistry(), pool)
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

  it('runs a package piece in a worker even when it asks to run inline', async () => {
    const run = await runOk(engine, workflow('where', [step('t', 'where.thread', {})]))
    expect((stepOf(run, 't').output as { threadId: number }).threadId).toBeGreaterThan(0)
  })
})
