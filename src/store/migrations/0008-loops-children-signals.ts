// The format's v2: items of `forEach` steps, runs started by a `workflow.run` step (their parent
// and nesting depth), what a step waits for, and signals sent to runs.
import { SchemaMigration } from './schema-migration.js'

export class Migration0008LoopsChildrenSignals extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.alterTable('runs', (t) => {
        t.string('parent_run_id').nullable()
        t.string('parent_step_id').nullable()
        /** The parent waits for this run: its end is signalled to the parent. */
        t.integer('parent_waits').nullable().defaultTo(0)
        t.integer('depth').nullable().defaultTo(0)
        t.index(['parent_run_id'], 'runs_parent_run_id_index')
      }),
    )
    this.change((schema) =>
      schema.alterTable('step_states', (t) => {
        /** For a step waiting for a signal: its name, its key (JSON) and until when (null: forever). */
        t.string('wait_signal').nullable()
        t.text('wait_key').nullable()
        t.bigInteger('wait_until').nullable()
        t.string('child_run_id').nullable()
        /** For a `forEach` step: how many items it has (once they are known). */
        t.integer('items_total').nullable()
        // the run last: a look-up by signal, status and run reads only that run's waiting step
        t.index(['wait_signal', 'status', 'run_id'], 'step_states_wait_signal_status_run_id_index')
      }),
    )
    this.change((schema) =>
      schema.createTable('step_items', (t) => {
        t.string('run_id').notNullable()
        t.string('step_id').notNullable()
        t.integer('idx').notNullable()
        t.string('status').notNullable()
        t.integer('attempts').notNullable()
        t.text('output').nullable()
        t.text('error').nullable()
        t.string('child_run_id').nullable()
        t.bigInteger('started_at').nullable()
        t.bigInteger('finished_at').nullable()
        t.primary(['run_id', 'step_id', 'idx'])
      }),
    )
    this.change((schema) =>
      schema.createTable('signals', (t) => {
        t.increments('id').primary()
        t.string('run_id').notNullable()
        t.string('name').notNullable()
        t.text('data').nullable()
        t.bigInteger('created_at').notNullable()
        /** The step that took the signal, and when; null while it is buffered. */
        t.string('taken_by').nullable()
        t.bigInteger('taken_at').nullable()
        /** The run whose end sent it (a child's end to its parent); null for signals from outside. */
        t.string('sender_run_id').nullable()
        t.index(['run_id', 'id'], 'signals_run_id_id_index')
        t.index(['taken_at', 'run_id'], 'signals_taken_at_run_id_index')
      }),
    )
  }
}
