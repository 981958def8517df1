// The fencing token of a run's lease: raised by every claim, so that a process that lost a run
// (it stalled past its lease and another took the run over) can no longer write to it.
import { SchemaMigration } from './schema-migration.js'

export class Migration0005LeaseEpoch extends SchemaMigration {
  override async up(): Promise<void> {
    this.change((schema) =>
      schema.alterTable('runs', (t) => {
        t.integer('lease_epoch').notNullable().defaultTo(1)
      }),
    )
  }
}
