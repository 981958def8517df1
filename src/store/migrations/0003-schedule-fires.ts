// One row per schedule due time: the unique key is what makes a due time fire once across processes.
import type { Knex } from '@mikro-orm/knex'
import { Migration } from '@mikro-orm/migrations'

export class Migration0003ScheduleFires extends Migration {
  private add(builder: Knex.SchemaBuilder): void {
    for (const statement of builder.toSQL()) this.addSql(statement.sql)
  }

  override async up(): Promise<void> {
    this.add(
      this.getKnex().schema.createTable('schedule_fires', (t) => {
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
