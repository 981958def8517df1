// Before the suite on PostgreSQL: drop the databases that earlier runs of the suite left behind —
// only those nobody is connected to, so that two runs of the suite at once keep each other's.
import pg from 'pg'
import { PG_URL, TEST_DB } from './db.js'

export default async function setup(): Promise<void> {
  if (TEST_DB !== 'postgres') return
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  const { rows } = await client.query<{ datname: string }>(
    `select datname from pg_database d where datname like 'pw\\_test\\_%'
       and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)`,
  )
  for (const { datname } of rows) await client.query(`drop database if exists ${datname}`).catch(() => {})
  await client.end()
}
