// The first schema. Written with the knex schema builder so that one migration serves both databases.
import { SchemaMigration } from './schema-migration.js'

export class Migration0001Initial extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.createTable('workflows', (t) => {
        t.string('id', 255).primary()
        t.string('name', 255).nullable()
        t.integer('current_version').notNullable()
        t.string('trigger_kind', 255).notNullable()
        t.bigInteger('created_at').notNullable()
        t.bigInteger('updated_at').notNullable()
        t.bigInteger('deleted_at').nullable()
      }),
    )
    this.change((schema) =>
      schema.createTable('workflow_versions', (t) => {
        t.string('workflow_id', 255).notNullable()
        t.integer('version').notNullable()
        t.text('definition').notNullable()
        t.string('hash', 255).notNullable()
        t.bigInteger('created_at').notNullable()
        t.primary(['workflow_id', 'version'])
      }),
    )
    this.change((schema) =>
      schema.createTable('runs', (t) => {
        t.string('id', 255).primary()
        t.string('workflow_id', 255).notNullable()
        t.integer('workflow_version').notNullable()
        t.string('status', 255).notNullable()
        t.text('input').nullable()
        t.text('output').nullable()
        t.text('error').nullable()
        t.bigInteger('created_at').notNullable()
        t.bigInteger('started_at').nullable()
        t.bigInteger('finished_at').nullable()
        t.index(['workflow_id', 'created_at'], 'runs_workflow_id_created_at_index')
        t.index(['status'], 'runs_status_index')
      }),
    )
    this.change((schema) =>
      schema.createTable('step_states', (t) => {
        t.string('run_id', 255).notNullable()
        t.string('step_id', 255).notNullable()
        t.string('status', 255).notNullable()
        t.integer('attempts').notNullable()
        t.string('handle', 255).nullable()
        t.text('output').nullable()
        t.text('error').nullable()
        t.bigInteger('wake_at').nullable()
        t.bigInteger('started_at').nullable()
        t.bigInteger('finished_at').nullable()
        t.primary(['run_id', 'step_id'])
      }),
    )
    this.change((schema) =>
      schema.createTable('run_logs', (t) => {
        t.increments('id').primary()
        t.string('run_id', 255).notNullable()
        t.string('step_id', 255).nullable()
        t.bigInteger('ts').notNullable()
        t.string('level', 255).notNullable()
        t.text('msg').notNullable()
        t.text('data').nullable()
        t.index(['run_id', 'id'], 'run_logs_run_id_id_index')
      }),
    )
  }
}
