// The database a test runs against: PIECEWORK_TEST_DB=postgres runs the suite on PostgreSQL (a fresh
// database per call), anything else on a SQLite file in a temporary folder.
import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export const TEST_DB = process.env.PIECEWORK_TEST_DB === 'postgres' ? 'postgres' : 'sqlite'
export const PG_URL = process.env.PIECEWORK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A new, empty database for one test file. */
export async function freshDatabaseUrl(): Promise<string> {
  if (TEST_DB === 'sqlite') return `sqlite:${join(mkdtempSync(join(tmpdir(), 'piecework-')), 'test.db')}`
  const name = `pw_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`create database ${name}`)
  await client.end()
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  return url.toString()
}
