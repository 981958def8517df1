// One row per schedule due time: the unique key is what makes a due time fire once across processes.
import { SchemaMigration } from './schema-migration.js'

export class Migration0003ScheduleFires extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.createTable('schedule_fires', (t) => {
        t.string('workflow_id', 255).notNullable()
        t.bigInteger('due_at').notNullable()
        t.bigInteger('fired_at').notNullable()
        t.string('run_id', 255).nullable()
        t.string('outcome', 255).notNullable()
        t.primary(['workflow_id', 'due_at'])
      }),
    )
  }
}
