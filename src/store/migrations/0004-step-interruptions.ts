// How often a step's current attempt was under way when its process died: what stops a step that
// kills the engine from being run again forever (see runs.maxInterruptions).
import { SchemaMigration } from './schema-migration.js'

export class Migration0004StepInterruptions extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.alterTable('step_states', (t) => {
        t.integer('interruptions').notNullable().defaultTo(0)
      }),
    )
  }
}
