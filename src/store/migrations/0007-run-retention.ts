// The indexes that pruning ended runs reads (runs.retention): ended runs of a status by the time
// they ended, overall and per workflow, and a fire of a schedule by its run. The index on status
// alone gives way to (status, finished_at), which serves every look-up by status it served.
import { SchemaMigration } from './schema-migration.js'

export class Migration0007RunRetention extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.alterTable('runs', (t) => {
        t.dropIndex(['status'], 'runs_status_index')
        t.index(['status', 'finished_at'], 'runs_status_finished_at_index')
        t.index(['workflow_id', 'status', 'finished_at'], 'runs_workflow_id_status_finished_at_index')
      }),
    )
    this.change((schema) =>
      schema.alterTable('schedule_fires', (t) => {
        t.index(['run_id'], 'schedule_fires_run_id_index')
      }),
    )
  }
}
