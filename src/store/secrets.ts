// The rows of stored secrets: sealed values only (src/secrets/cipher.ts); the store never sees a
// value in clear.
import type { Knex } from '@mikro-orm/knex'
import type { Sealed } from '../secrets/cipher.js'

export interface SecretRow extends Sealed {
  name: string
  createdAt: number
  updatedAt: number
}

interface Columns {
  name: string
  key_id: string
  iv: string
  data: string
  created_at: number | string
  updated_at: number | string
}

const fromRow = (r: Columns): SecretRow => ({
  name: r.name,
  keyId: r.key_id,
  iv: r.iv,
  data: r.data,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
})

export async function secretRows(knex: Knex): Promise<SecretRow[]> {
  const rows = (await knex('secrets').select('*').orderBy('name')) as Columns[]
  return rows.map(fromRow)
}

/** Inserts or replaces one secret (one statement, so that two writers of one name both succeed). */
export async function putSecretRow(
  knex: Knex,
  name: string,
  sealed: Sealed,
  now: number,
): Promise<{ created: boolean; createdAt: number }> {
  const [row] = (await knex('secrets')
    .insert({
      name,
      key_id: sealed.keyId,
      iv: sealed.iv,
      data: sealed.data,
      created_at: now,
      updated_at: now,
    })
    .onConflict('name')
    .merge(['key_id', 'iv', 'data', 'updated_at'])
    .returning(['created_at', 'updated_at'])) as Pick<Columns, 'created_at' | 'updated_at'>[]
  const createdAt = Number(row!.created_at)
  return { created: createdAt === now, createdAt }
}

/** Seals a row again under another key, unless it changed meanwhile (another process wrote it). */
export async function resealSecretRow(knex: Knex, row: SecretRow, sealed: Sealed): Promise<boolean> {
  const changed = await knex('secrets')
    .where({ name: row.name, key_id: row.keyId, iv: row.iv })
    .update({ key_id: sealed.keyId, iv: sealed.iv, data: sealed.data })
  return changed > 0
}

export async function deleteSecretRow(knex: Knex, name: string): Promise<boolean> {
  return (await knex('secrets').where({ name }).delete()) > 0
}
