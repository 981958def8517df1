// Named secrets stored through the API, sealed with AES-256-GCM (src/secrets/cipher.ts): the row
// holds the id of the key that sealed it, the nonce and the ciphertext, never the value.
import { SchemaMigration } from './schema-migration.js'

export class Migration0009Secrets extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.createTable('secrets', (t) => {
        t.string('name').primary()
        t.string('key_id').notNullable()
        t.string('iv').notNullable()
        t.text('data').notNullable()
        t.bigInteger('created_at').notNullable()
        t.bigInteger('updated_at').notNullable()
      }),
    )
  }
}
