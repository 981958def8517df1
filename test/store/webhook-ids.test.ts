// The remembered ids of Standard Webhooks requests: a replay is refused until the id expires, the
// same id is free for another workflow, and expired rows are pruned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, openDatabase } from '../../src/store/orm.js'
import { WebhookIds } from '../../src/store/webhook-ids.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

const T = 1_700_000_000_000
let db: Database

beforeAll(async () => {
  db = await openDatabase(await freshDatabaseUrl())
})

afterAll(async () => {
  await db?.close()
})

const rows = async () => Number((await db.knex('webhook_ids').count({ n: '*' }).first())?.n)

describe(`webhook ids (${TEST_DB})`, () => {
  it('takes an id once and refuses it again until it expires', async () => {
    const ids = new WebhookIds(db.knex)
    expect(await ids.remember('w', 'msg_1', T + 300_000, T)).toBe(true)
    expect(await ids.remember('w', 'msg_1', T + 301_000, T + 1000)).toBe(false)
    expect(await ids.remember('w', 'msg_1', T + 600_000, T + 299_999)).toBe(false)
  })

  it('refuses an id taken through another store on the same database, as another process would', async () => {
    const first = new WebhookIds(db.knex)
    const second = new WebhookIds(db.knex)
    expect(await first.remember('w', 'msg_2', T + 300_000, T)).toBe(true)
    expect(await second.remember('w', 'msg_2', T + 300_000, T)).toBe(false)
  })

  it('lets two workflows take the same id', async () => {
    const ids = new WebhookIds(db.knex)
    expect(await ids.remember('a', 'msg_3', T + 300_000, T)).toBe(true)
    expect(await ids.remember('b', 'msg_3', T + 300_000, T)).toBe(true)
  })

  it('takes an expired id again, even before it was pruned', async () => {
    const ids = new WebhookIds(db.knex, Number.POSITIVE_INFINITY)
    expect(await ids.remember('w', 'msg_4', T + 300_000, T)).toBe(true)
    expect(await ids.remember('w', 'msg_4', T + 700_000, T + 400_000)).toBe(true)
    expect(await ids.remember('w', 'msg_4', T + 700_000, T + 500_000)).toBe(false)
  })

  it('forgets an id whose run did not start', async () => {
    const ids = new WebhookIds(db.knex)
    expect(await ids.remember('w', 'msg_5', T + 300_000, T)).toBe(true)
    await ids.forget('w', 'msg_5')
    expect(await ids.remember('w', 'msg_5', T + 300_000, T)).toBe(true)
  })

  it('prunes expired rows at most once a period, as it remembers', async () => {
    await db.knex('webhook_ids').delete()
    const ids = new WebhookIds(db.knex, 60_000, 0)
    await ids.remember('p', 'old', T + 1000, T)
    await ids.remember('p', 'young', T + 120_000, T + 500)
    expect(await rows()).toBe(2)
    // a minute later the first has expired: pruned while the next id is remembered
    await ids.remember('p', 'next', T + 400_000, T + 100_000)
    expect(await db.knex('webhook_ids').pluck('message_id').orderBy('message_id')).toEqual(['next', 'young'])
    // within the same minute, nothing is deleted even though `young` has expired by then
    await ids.remember('p', 'later', T + 500_000, T + 130_000)
    expect(await rows()).toBe(3)
    expect(await ids.prune(T + 130_000)).toBe(1)
  })

  it('keeps an expired row for a grace, for processes whose clocks are behind', async () => {
    await db.knex('webhook_ids').delete()
    const ids = new WebhookIds(db.knex, Number.POSITIVE_INFINITY, 300_000)
    await ids.remember('g', 'late', T + 1000, T)
    expect(await ids.prune(T + 300_000)).toBe(0)
    // a process 4 minutes behind still refuses the replay
    expect(await ids.remember('g', 'late', T + 2000, T + 500)).toBe(false)
    expect(await ids.prune(T + 301_001)).toBe(1)
  })
})
