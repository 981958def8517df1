// LISTEN/NOTIFY on PostgreSQL: a notice is heard, and whoever relies on hearing them is told when
// the listening connection drops (notices may go unheard) and when it listens again.
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/store/orm.js'
import { PgNotices } from '../../src/store/pg-notices.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { until } from '../helpers/until.js'

describe.runIf(TEST_DB === 'postgres')('notices (postgres)', () => {
  it('tells a listener when notices may go unheard and when they are heard again', async () => {
    const db = await openDatabase(await freshDatabaseUrl())
    const notices = new PgNotices(db.knex)
    try {
      const heard: string[] = []
      const hearing: boolean[] = []
      notices.listen(
        'piecework_test_channel',
        (payload) => heard.push(payload),
        (on) => hearing.push(on),
      )
      await until('the listener to listen', 5_000, () => hearing.at(-1) === true, 20)
      notices.notify('piecework_test_channel', 'one')
      await until('the first notice', 5_000, () => heard.includes('one'), 20)
      // the listening connection is ended from the server's side
      await db.knex.raw(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and query = 'listen piecework_test_channel'`,
      )
      await until('the drop to be told', 5_000, () => hearing.includes(false), 20)
      await until('the listener to listen again', 5_000, () => hearing.at(-1) === true, 20)
      expect(hearing).toEqual([true, false, true])
      notices.notify('piecework_test_channel', 'two')
      await until('a notice after the drop', 5_000, () => heard.includes('two'), 20)
    } finally {
      await notices.close()
      await db.close()
    }
  })
})
