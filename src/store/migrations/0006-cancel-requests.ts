// A cancel asked of a run that another process holds: the request is stored on the run's row, and
// the holder sees it at its next poll.
import { SchemaMigration } from './schema-migration.js'

export class Migration0006CancelRequests extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.alterTable('runs', (t) => {
        t.bigInteger('cancel_requested_at').nullable()
        t.index(['cancel_requested_at'], 'runs_cancel_requested_at_index')
      }),
    )
  }
}
