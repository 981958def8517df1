// The runs list's order, newest first by (created_at, id): an index of its own, so that a page of
// all runs (the run monitor's first view) and each next page by cursor read only their rows, however
// many runs the table holds.
import { SchemaMigration } from './schema-migration.js'

export class Migration0011RunsCreatedAt extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.alterTable('runs', (t) => {
        t.index(['created_at', 'id'], 'runs_created_at_id_index')
      }),
    )
  }
}
