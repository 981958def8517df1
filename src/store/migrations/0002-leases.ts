// Run leases (which process holds a run, until when) and the index the due-timer poller reads.
import { SchemaMigration } from './schema-migration.js'

export class Migration0002Leases extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.alterTable('runs', (t) => {
        t.string('owner', 255).nullable()
        t.bigInteger('lease_until').nullable()
      }),
    )
    this.change((schema) =>
      schema.alterTable('step_states', (t) => {
        t.index(['status', 'wake_at'], 'step_states_status_wake_at_index')
      }),
    )
  }
}
