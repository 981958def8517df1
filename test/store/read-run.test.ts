// A run's view (readRun) pairs the run's status with its steps' as one checkpoint left them. Its
// rows come from separate statements (on PostgreSQL, maybe on two connections); a checkpoint
// committed between them (here by reads that commit one right after the run's row is read, as
// another connection could) must not show a step `waiting` in a run still `running`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, HotReads, openDatabase } from '../../src/store/orm.js'
import { readRun } from '../../src/store/runs.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

let db: Database

/** Hot reads that run `between` once, right after the first read of a run's row. */
class CommitBetween extends HotReads {
  constructor(
    database: Database,
    private between: (() => Promise<void>) | undefined,
  ) {
    super(database)
  }

  override async all<Row>(sql: string, values: unknown[]): Promise<Row[]> {
    const rows = await super.all<Row>(sql, values)
    const between = this.between
    if (between && sql.startsWith('select * from runs')) {
      this.between = undefined
      await between()
    }
    return rows
  }
}

const order = async () => ['each', 'after']

async function insertRun(id: string): Promise<void> {
  await db
    .knex('runs')
    .insert({ id, workflow_id: 'w', workflow_version: 1, status: 'running', created_at: 1 })
  await db
    .knex('step_states')
    .insert([{ run_id: id, step_id: 'each', status: 'running', attempts: 1, started_at: 2 }])
}

/** What the run's supervisor commits when its one running step starts to wait: both rows at once. */
function startWaiting(id: string): () => Promise<void> {
  return () =>
    db.knex.transaction(async (trx) => {
      await trx('step_states').where({ run_id: id, step_id: 'each' }).update({ status: 'waiting' })
      await trx('runs').where({ id }).update({ status: 'waiting' })
    })
}

beforeAll(async () => {
  db = await openDatabase(await freshDatabaseUrl())
})

afterAll(async () => db?.close())

describe(`a run's view (${TEST_DB})`, () => {
  it('is read as stored when nothing commits meanwhile', async () => {
    await insertRun('quiet')
    const view = await readRun(new HotReads(db), 'quiet', order)
    expect(view.status).toBe('running')
    expect(view.steps.map((s) => [s.id, s.status])).toEqual([
      ['each', 'running'],
      ['after', 'pending'],
    ])
  })

  it('never pairs a run status with its steps from a later checkpoint', async () => {
    await insertRun('torn')
    const view = await readRun(new CommitBetween(db, startWaiting('torn')), 'torn', order)
    expect([view.status, view.steps[0]?.status]).toEqual(['waiting', 'waiting'])
  })
})
