// Run leases (which process holds a run, until when) and the index the due-timer poller reads.
import type { Knex } from '@mikro-orm/knex'
import { Migration } from '@mikro-orm/migrations'

export class Migration0002Leases extends Migration {
  private add(builder: Knex.SchemaBuilder): void {
    for (const statement of builder.toSQL()) this.addSql(statement.sql)
  }

  override async up(): Promise<void> {
    this.add(
      this.getKnex().schema.alterTable('runs', (t) => {
        t.string('owner', 255).nullable()
        t.bigInteger('lease_until').nullable()
      }),
    )
    this.add(
      this.getKnex().schema.alterTable('step_states', (t) => {
        t.index(['status', 'wake_at'], 'step_states_status_wake_at_index')
      }),
    )
  }
}
