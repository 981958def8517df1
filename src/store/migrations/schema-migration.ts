// The base of the engine's migrations: schema changes written with the knex schema builder, so that
// one migration serves both databases.
import type { Knex } from '@mikro-orm/knex'
import { Migration } from '@mikro-orm/migrations'

export abstract class SchemaMigration extends Migration {
  /**
   * Adds every statement of one schema change (a table and its indexes may be several). Each change
   * gets a new builder: one builder accumulates every statement ever made with it.
   */
  protected change(build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder): void {
    for (const statement of build(this.getKnex().schema).toSQL()) this.addSql(statement.sql)
  }
}
