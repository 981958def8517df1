// The checkpoint writer against the database: the rows it writes, group commit, failures, and (on
// SQLite, where it writes outside knex on knex's own connection) that it never writes into a
// transaction knex holds open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CheckpointWriter, checkpointExecutor, type StepRow } from '../../src/store/checkpoints.js'
import { type Database, openDatabase } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { runRow, stepRow as someStep } from '../helpers/rows.js'

const T = 1_700_000_000_000

const newRun = (id: string) => runRow(id, { status: 'queued', created_at: T, lease_until: T + 30_000 })
const stepRow = (runId: string, stepId: string, status: string, patch: Partial<StepRow> = {}) =>
  someStep(runId, stepId, status, { started_at: T + 1, ...patch })

let db: Database
let writer: CheckpointWriter

beforeAll(async () => {
  db = await openDatabase(await freshDatabaseUrl())
  writer = new CheckpointWriter(checkpointExecutor(db, 'the-owner'))
})

afterAll(async () => {
  await writer?.drain()
  await db?.close()
})

describe(`checkpoint writer (${TEST_DB})`, () => {
  it('inserts runs, upserts steps, updates runs and appends logs; concurrent writes share a commit', async () => {
    await writer.write({ newRuns: [newRun('r1'), newRun('r2')] })
    const commits = writer.stats.commits
    await Promise.all([
      writer.write({
        steps: [stepRow('r1', 'a', 'running')],
        runs: [{ id: 'r1', status: 'running', started_at: T + 5 }],
      }),
      writer.write({
        steps: [stepRow('r2', 'a', 'running')],
        runs: [{ id: 'r2', status: 'running', started_at: T + 6 }],
      }),
    ])
    expect(writer.stats.commits - commits).toBe(1)
    writer.log({ run_id: 'r1', step_id: 'a', ts: T + 7, level: 'info', msg: 'done', data: '{"n":1}' })
    await writer.write({
      steps: [
        stepRow('r1', 'a', 'succeeded', {
          attempts: 2,
          interruptions: 1,
          output: '{"x":1}',
          finished_at: T + 9,
        }),
      ],
      runs: [
        { id: 'r1', status: 'succeeded', output: '1', finished_at: T + 10, owner: null, lease_until: null },
      ],
    })

    const runs: Record<string, unknown>[] = await db.knex('runs').orderBy('id')
    expect(
      runs.map((r) => [
        r.id,
        r.status,
        r.output,
        Number(r.started_at),
        r.finished_at && Number(r.finished_at),
        r.owner,
      ]),
    ).toEqual([
      ['r1', 'succeeded', '1', T + 5, T + 10, null],
      ['r2', 'running', null, T + 6, null, 'me'],
    ])
    const steps: Record<string, unknown>[] = await db.knex('step_states').orderBy('run_id')
    expect(
      steps.map((s) => [
        s.run_id,
        s.step_id,
        s.status,
        s.attempts,
        s.interruptions,
        s.output,
        s.finished_at && Number(s.finished_at),
      ]),
    ).toEqual([
      ['r1', 'a', 'succeeded', 2, 1, '{"x":1}', T + 9],
      ['r2', 'a', 'running', 1, 0, null, null],
    ])
    const logs: Record<string, unknown>[] = await db.knex('run_logs')
    expect(logs.map((l) => [l.run_id, l.step_id, Number(l.ts), l.level, l.msg, l.data])).toEqual([
      ['r1', 'a', T + 7, 'info', 'done', '{"n":1}'],
    ])
  })

  it('inserts a run patched before its insert was written as one row, patched', async () => {
    const commits = writer.stats.commits
    await Promise.all([
      writer.write({ newRuns: [newRun('p1')] }),
      writer.write({ runs: [{ id: 'p1', status: 'running', started_at: T + 3, output: undefined }] }),
      writer.write({ runs: [{ id: 'p1', owner: null }] }),
    ])
    expect(writer.stats.commits - commits).toBe(1)
    const [row] = await db.knex('runs').where({ id: 'p1' })
    expect([row.status, Number(row.started_at), row.owner, row.input, row.output]).toEqual([
      'running',
      T + 3,
      null,
      '{}',
      null,
    ])
  })

  it('writes every kind of row and patches of different shapes in one commit', async () => {
    await writer.write({ newRuns: [newRun('m1'), newRun('m2'), newRun('m3')] })
    const commits = writer.stats.commits
    const text = 'quote \' back\\slash "double" {brace} , comma \u00e9 null'
    await Promise.all([
      writer.write({ newRuns: [newRun('m4')], steps: [stepRow('m4', 'a', 'running')] }),
      writer.write({
        steps: [stepRow('m1', 'a', 'succeeded', { output: JSON.stringify(text), finished_at: T + 2 })],
        runs: [{ id: 'm1', status: 'succeeded', output: JSON.stringify(text), finished_at: T + 2 }],
      }),
      writer.write({ runs: [{ id: 'm2', status: 'failed', error: '{"code":"X"}', finished_at: T + 4 }] }),
      writer.write({ runs: [{ id: 'm3', owner: null, lease_until: null }] }),
    ])
    writer.log({ run_id: 'm2', step_id: null, ts: T + 4, level: 'error', msg: text, data: null })
    await writer.drain()
    expect(writer.stats.commits - commits).toBeLessThanOrEqual(2)
    const runs: Record<string, unknown>[] = await db
      .knex('runs')
      .whereIn('id', ['m1', 'm2', 'm3', 'm4'])
      .orderBy('id')
    expect(runs.map((r) => [r.id, r.status, r.output, r.error, r.owner, r.lease_until])).toEqual([
      ['m1', 'succeeded', JSON.stringify(text), null, 'me', expect.anything()],
      ['m2', 'failed', null, '{"code":"X"}', 'me', expect.anything()],
      ['m3', 'queued', null, null, null, null],
      ['m4', 'queued', null, null, 'me', expect.anything()],
    ])
    const [step] = await db.knex('step_states').where({ run_id: 'm1' })
    expect(JSON.parse(step.output)).toBe(text)
    const [log] = await db.knex('run_logs').where({ run_id: 'm2' })
    expect(log.msg).toBe(text)
  })

  it('rejects the callers of a failed commit, writes none of its rows, and goes on', async () => {
    const failing = writer.write({ newRuns: [newRun('r3'), newRun('r1')] })
    await expect(failing).rejects.toThrow()
    expect(await db.knex('runs').where({ id: 'r3' })).toHaveLength(0)
    expect(db.sqlite?.inTransaction ?? false).toBe(false)
    await writer.write({ newRuns: [newRun('r3')] })
    expect(await db.knex('runs').where({ id: 'r3' })).toHaveLength(1)
  })

  it.runIf(TEST_DB === 'sqlite')('waits while knex holds a transaction open on the connection', async () => {
    let written = false
    let writing: Promise<void> | undefined
    await expect(
      db.knex.transaction(async (trx) => {
        await trx('run_logs').insert({
          run_id: 'r1',
          step_id: null,
          ts: T,
          level: 'info',
          msg: 'rolled back',
        })
        writing = writer.write({ newRuns: [newRun('r4')] }).then(() => {
          written = true
        })
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
        expect(written).toBe(false)
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    await writing
    expect(written).toBe(true)
    expect(await db.knex('runs').where({ id: 'r4' })).toHaveLength(1)
    expect(await db.knex('run_logs').where({ msg: 'rolled back' })).toHaveLength(0)
  })
})
