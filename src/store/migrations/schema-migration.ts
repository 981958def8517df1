// The base of the engine's migrations: schema changes written with the knex schema builder, so that
// one migration serves both databases. Free of the ORM: a new database gets them all at once, and
// MikroORM's migrator runs those an older one lacks, each wrapped in its Migration (../migrate.ts).
import type { Knex } from '@mikro-orm/knex'

type SchemaChange = (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder

export abstract class SchemaMigration {
  private changes: SchemaChange[] = []

  /** Adds the migration's changes, each with `change`. */
  abstract up(): Promise<void>

  /**
   * Adds every statement of one schema change (a table and its indexes may be several). Each change
   * gets a new builder: one builder accumulates every statement ever made with it.
   */
  protected change(build: SchemaChange): void {
    this.changes.push(build)
  }

  /** The migration's statements in the dialect of `knex`. */
  async statements(knex: Knex): Promise<string[]> {
    this.changes = []
    await this.up()
    return this.changes.flatMap((build) =>
      build(knex.schema)
        .toSQL()
        .map((statement) => statement.sql),
    )
  }
}
