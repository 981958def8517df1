// Fenced checkpoints: a write for a run is made only while its writer still holds the run with the
// lease epoch it was given; a batch the database refuses for one caller's rows fails only that
// caller; leases are taken with a new epoch, and renewed only for the runs named; a signal taken in
// memory is stored taken only with its taker's rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Checkpoint,
  CheckpointWriter,
  checkpointExecutor,
  LeaseLostError,
  type SignalRow,
} from '../../src/store/checkpoints.js'
import { Leases } from '../../src/store/leases.js'
import { type Database, openDatabase } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { runRow, stepRow as someStep } from '../helpers/rows.js'

const ME = 'process-a'
const T = Date.now()

const newRun = (id: string, status = 'running') => runRow(id, { status, owner: ME, created_at: T })
const stepRow = (runId: string, stepId: string, status: string) =>
  someStep(runId, stepId, status, { started_at: T })

let db: Database
let writer: CheckpointWriter

beforeAll(async () => {
  db = await openDatabase(await freshDatabaseUrl())
  writer = new CheckpointWriter(checkpointExecutor(db, ME))
})

afterAll(async () => {
  await writer?.drain()
  await db?.close()
})

const stepsOf = async (runId: string) =>
  (await db.knex('step_states').where({ run_id: runId }).orderBy('step_id')).map(
    (r) => `${r.step_id}:${r.status}`,
  )

describe(`fenced checkpoints (${TEST_DB})`, () => {
  it('never writes a release of an old epoch under the new one when both wait for the same commit', async () => {
    await writer.write({ newRuns: [newRun('e1', 'waiting')], fence: { runId: 'e1', epoch: 1 } })
    // the run is let go (passivated) and taken back at once, before the release is written
    const release = writer
      .write({ runs: [{ id: 'e1', owner: null, lease_until: null }], fence: { runId: 'e1', epoch: 1 } })
      .catch((error: unknown) => error)
    await db.knex('runs').where({ id: 'e1' }).update({ lease_epoch: 2 })
    const next = writer.write({
      steps: [stepRow('e1', 'a', 'succeeded')],
      runs: [{ id: 'e1', status: 'succeeded' }],
      fence: { runId: 'e1', epoch: 2 },
    })
    // a late write of the old epoch is refused at once
    const late = writer
      .write({ steps: [stepRow('e1', 'b', 'running')], fence: { runId: 'e1', epoch: 1 } })
      .catch((error: unknown) => error)
    expect(await release).toBeInstanceOf(LeaseLostError)
    expect(await late).toBeInstanceOf(LeaseLostError)
    await expect(next).resolves.toBeUndefined()
    const [e1] = await db.knex('runs').where({ id: 'e1' })
    expect([e1.status, e1.owner, Number(e1.lease_epoch)]).toEqual(['succeeded', ME, 2])
    expect(await stepsOf('e1')).toEqual(['a:succeeded'])
  })

  it('writes a run held with its epoch, and refuses one taken over, writing none of its rows', async () => {
    await writer.write({ newRuns: [newRun('f1'), newRun('f2')], fence: { runId: 'f1', epoch: 1 } })
    // another process takes f2 over: new owner, new epoch
    await db.knex('runs').where({ id: 'f2' }).update({ owner: 'process-b', lease_epoch: 2 })
    const held = writer.write({ steps: [stepRow('f1', 'a', 'succeeded')], fence: { runId: 'f1', epoch: 1 } })
    const lost = writer.write({
      steps: [stepRow('f2', 'a', 'succeeded')],
      runs: [{ id: 'f2', status: 'succeeded' }],
      fence: { runId: 'f2', epoch: 1 },
    })
    writer.log({ run_id: 'f2', step_id: 'a', ts: T, level: 'info', msg: 'late', data: null })
    await expect(held).resolves.toBeUndefined()
    await expect(lost).rejects.toBeInstanceOf(LeaseLostError)
    await writer.drain()
    expect(await stepsOf('f1')).toEqual(['a:succeeded'])
    expect(await stepsOf('f2')).toEqual([])
    const [f2] = await db.knex('runs').where({ id: 'f2' })
    expect([f2.status, f2.owner]).toEqual(['running', 'process-b'])
    expect(await db.knex('run_logs').where({ run_id: 'f2' })).toEqual([])
  })

  it('refuses an old epoch of the same owner (a claim after a stall)', async () => {
    await writer.write({ newRuns: [newRun('f3')] })
    await db.knex('runs').where({ id: 'f3' }).update({ lease_epoch: 5 })
    await expect(
      writer.write({ steps: [stepRow('f3', 'a', 'running')], fence: { runId: 'f3', epoch: 4 } }),
    ).rejects.toBeInstanceOf(LeaseLostError)
    await writer.write({ steps: [stepRow('f3', 'a', 'running')], fence: { runId: 'f3', epoch: 5 } })
    expect(await stepsOf('f3')).toEqual(['a:running'])
  })

  it('refuses the rows of a run that has no row (its insert failed, or it was pruned)', async () => {
    await expect(
      writer.write({ steps: [stepRow('i1', 'a', 'running')], fence: { runId: 'i1', epoch: 1 } }),
    ).rejects.toBeInstanceOf(LeaseLostError)
    // with a run that is held, in one commit: only the held run's rows are written
    await writer.write({ newRuns: [newRun('i2')] })
    const results = await Promise.allSettled([
      writer.write({ steps: [stepRow('i1', 'a', 'running')], fence: { runId: 'i1', epoch: 1 } }),
      writer.write({ steps: [stepRow('i2', 'a', 'succeeded')], fence: { runId: 'i2', epoch: 1 } }),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled'])
    expect(await stepsOf('i1')).toEqual([])
    expect(await stepsOf('i2')).toEqual(['a:succeeded'])
  })

  it('fails only the caller whose rows the database refuses, and writes the others', async () => {
    await writer.write({ newRuns: [newRun('g1'), newRun('g2')] })
    const bad = stepRow('g1', 'a', 'running')
    ;(bad as { status: unknown }).status = null // NOT NULL: the database refuses the row
    const results = await Promise.allSettled([
      writer.write({ steps: [bad], fence: { runId: 'g1', epoch: 1 } }),
      writer.write({ steps: [stepRow('g2', 'a', 'succeeded')], fence: { runId: 'g2', epoch: 1 } }),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled'])
    expect(await stepsOf('g1')).toEqual([])
    expect(await stepsOf('g2')).toEqual(['a:succeeded'])
    expect(writer.healthy).toBe(true)
  })

  it('takes a run with a new epoch, never one another process holds, and renews only the runs named', async () => {
    const a = new Leases(db.knex, ME, 60_000, db.kind)
    const b = new Leases(db.knex, 'process-b', 60_000, db.kind)
    await writer.write({ newRuns: [newRun('h1', 'waiting'), newRun('h2', 'waiting')] })
    await db.knex('runs').whereIn('id', ['h1', 'h2']).update({ owner: null, lease_until: null })
    expect(await a.take('h1', Date.now())).toBe(2)
    expect(await b.take('h1', Date.now())).toBeUndefined()
    expect(await a.take('h2', Date.now())).toBe(2)
    expect([...(await a.renew(Date.now(), ['h1']))]).toEqual(['h1'])
    const [h2] = await db.knex('runs').where({ id: 'h2' })
    const [h1] = await db.knex('runs').where({ id: 'h1' })
    expect(Number(h1.lease_until)).toBeGreaterThanOrEqual(Number(h2.lease_until))
    expect(
      await a.lost(
        new Map([
          ['h1', 2],
          ['h2', 1],
        ]),
      ),
    ).toEqual(['h2'])
  })
})

// A child's end taken by its parent in memory: the signal row goes into the commit of the child's
// end marked taken, but only if the parent's rows are written in that commit too (the parent's
// fence holds there, or the parent is inserted by it). Otherwise it is stored untaken, to be
// delivered as any signal; a sender refused by its own fence stores nothing.
/** The child's end: its signal to the parent, taken in memory by the parent's step `call`. */
const childEnd = (child: string, parent: string, epoch = 1): Checkpoint => {
  const signal: SignalRow = {
    run_id: parent,
    name: 'child:call',
    data: '{}',
    created_at: T,
    sender_run_id: child,
    taken_by: 'call',
    taken_at: T + 1,
  }
  return { runs: [{ id: child, status: 'succeeded' }], signals: [signal], fence: { runId: child, epoch } }
}

/** The parent's rows that take it: its step done. */
const parentTakes = (parent: string, epoch = 1): Checkpoint => ({
  steps: [stepRow(parent, 'call', 'succeeded')],
  fence: { runId: parent, epoch },
})

type Case = [
  string,
  /** what each case writes in one commit, given its parent and child ids */
  (parent: string, child: string) => Checkpoint[],
  /** the parent's stored row was taken by another process meanwhile (its epoch is 2) */
  boolean,
  /** the signal as stored: taken, untaken, or none */
  'taken' | 'untaken' | 'none',
]

describe(`a signal taken in memory as it is stored (${TEST_DB})`, () => {
  const cases: Case[] = [
    [
      'is stored taken with the parent rows that take it',
      (p, c) => [childEnd(c, p), parentTakes(p)],
      false,
      'taken',
    ],
    [
      'is stored untaken when the parent was taken over (its rows refused)',
      (p, c) => [childEnd(c, p), parentTakes(p)],
      true,
      'untaken',
    ],
    [
      'is stored untaken when no rows of the parent share its commit',
      (p, c) => [childEnd(c, p)],
      false,
      'untaken',
    ],
    [
      'is stored taken when the parent is inserted by the same commit',
      (p, c) => [{ newRuns: [newRun(p)] }, childEnd(c, p), parentTakes(p)],
      false,
      'taken',
    ],
    [
      'is not stored when the child itself was taken over',
      (p, c) => [childEnd(c, p, 0), parentTakes(p)],
      false,
      'none',
    ],
  ]

  it.each(cases.map((c, i) => [...c, i] as const))('%s', async (_what, write, takenOver, expected, i) => {
    const parent = `parent-${i}`
    const child = `child-${i}`
    const inserted = write(parent, child).some((c) => c.newRuns?.some((r) => r.id === parent))
    if (!inserted) await writer.write({ newRuns: [newRun(parent)], fence: { runId: parent, epoch: 1 } })
    await writer.write({ newRuns: [newRun(child)], fence: { runId: child, epoch: 1 } })
    if (takenOver) await db.knex('runs').where({ id: parent }).update({ lease_epoch: 2 })
    // handed over in one turn: one commit
    await Promise.allSettled(write(parent, child).map((checkpoint) => writer.write(checkpoint)))
    const rows = await db.knex('signals').where({ run_id: parent })
    const stored = rows.length === 0 ? 'none' : rows[0].taken_at == null ? 'untaken' : 'taken'
    expect(stored).toBe(expected)
    if (stored === 'taken') expect(rows[0]).toMatchObject({ taken_by: 'call', name: 'child:call' })
    if (stored === 'untaken') expect(rows[0].taken_by).toBeNull()
  })
})

describe(`runs inserted under another run's fence (${TEST_DB})`, () => {
  // A parent held here (or taken over) checkpoints a step that starts a child, whose row rides in
  // the parent's checkpoint; the child checkpoints its own steps, and may start a grandchild the
  // same way; all of it handed over in one turn, so one commit.
  type Case = [what: string, takenOver: boolean, grandchild: boolean, stored: boolean]
  const cases: Case[] = [
    ['inserts the child with its parent held, and writes its steps', false, false, true],
    ['inserts neither the child nor its steps when the parent was taken over', true, false, false],
    ['inserts a line of runs started in one commit when the first is held', false, true, true],
    ['inserts none of a line of runs when the first was taken over', true, true, false],
  ]

  it.each(cases.map((c, i) => [...c, i] as const))('%s', async (_what, takenOver, grandchild, stored, i) => {
    const parent = `held-parent-${i}`
    const child = `held-child-${i}`
    const grand = `held-grandchild-${i}`
    await writer.write({ newRuns: [newRun(parent)], fence: { runId: parent, epoch: 1 } })
    if (takenOver) await db.knex('runs').where({ id: parent }).update({ owner: 'process-b', lease_epoch: 2 })
    const checkpoints: Checkpoint[] = [
      {
        newRuns: [newRun(child)],
        steps: [stepRow(parent, 'call', 'waiting')],
        fence: { runId: parent, epoch: 1 },
      },
      {
        ...(grandchild ? { newRuns: [newRun(grand)] } : {}),
        steps: [stepRow(child, 'first', 'succeeded')],
        fence: { runId: child, epoch: 1 },
      },
      ...(grandchild
        ? [{ steps: [stepRow(grand, 'first', 'running')], fence: { runId: grand, epoch: 1 } }]
        : []),
    ]
    const results = await Promise.allSettled(checkpoints.map((checkpoint) => writer.write(checkpoint)))
    for (const result of results) {
      if (stored) expect(result.status).toBe('fulfilled')
      else expect(result.status === 'rejected' && result.reason).toBeInstanceOf(LeaseLostError)
    }
    const runs = (await db.knex('runs').whereIn('id', [child, grand])).map((r) => r.id).sort()
    expect(runs).toEqual(stored ? [child, ...(grandchild ? [grand] : [])] : [])
    expect(await stepsOf(parent)).toEqual(stored ? ['call:waiting'] : [])
    expect(await stepsOf(child)).toEqual(stored ? ['first:succeeded'] : [])
    expect(await stepsOf(grand)).toEqual(stored && grandchild ? ['first:running'] : [])
    // a later checkpoint of a child never stored is refused as well
    if (!stored)
      await expect(
        writer.write({ steps: [stepRow(child, 'last', 'running')], fence: { runId: child, epoch: 1 } }),
      ).rejects.toBeInstanceOf(LeaseLostError)
  })
})
