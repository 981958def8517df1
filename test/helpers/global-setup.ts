// Before the suite on PostgreSQL: drop the databases that earlier runs of the suite left behind.
import pg from 'pg'
import { PG_URL, TEST_DB } from './db.js'

export default async function setup(): Promise<void> {
  if (TEST_DB !== 'postgres') return
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  const { rows } = await client.query<{ datname: string }>(
    "select datname from pg_database where datname like 'pw\\_test\\_%'",
  )
  for (const { datname } of rows) await client.query(`drop database if exists ${datname} with (force)`)
  await client.end()
}
