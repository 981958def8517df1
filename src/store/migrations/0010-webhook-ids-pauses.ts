// The ids of Standard Webhooks requests taken, until their tolerance window has passed (a replay of
// one within it is refused), and when a workflow was paused (its triggers stop; null while it runs).
import { SchemaMigration } from './schema-migration.js'

export class Migration0010WebhookIdsPauses extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.createTable('webhook_ids', (t) => {
        t.string('workflow_id', 255).notNullable()
        t.string('message_id', 255).notNullable()
        t.bigInteger('expires_at').notNullable()
        t.primary(['workflow_id', 'message_id'])
        t.index(['expires_at'], 'webhook_ids_expires_at_index')
      }),
    )
    this.change((schema) =>
      schema.alterTable('workflows', (t) => {
        t.bigInteger('paused_at').nullable()
      }),
    )
  }
}
