// What the database held at a kill: read while no engine process is alive, so it is exactly what
// the killed process had made durable.
import { openDatabase } from '../../src/store/orm.js'

export interface Snapshot {
  /** `<runId>:<stepId>` of steps checkpointed as running (their work may have been under way). */
  running: Set<string>
  /** `<runId>:<stepId>` of steps whose result was durable. */
  succeeded: Set<string>
  /** How many runs were in each status. */
  runs: Record<string, number>
  /** `<runId>:<stepId>:<index>` of `forEach` items whose result was durable. */
  items: Set<string>
}

export async function snapshot(databaseUrl: string): Promise<Snapshot> {
  const db = await openDatabase(databaseUrl, { migrate: false })
  try {
    const steps: { run_id: string; step_id: string; status: string }[] = await db
      .knex('step_states')
      .select('run_id', 'step_id', 'status')
      .whereIn('status', ['running', 'succeeded'])
    const counts: { status: string; n: number | string }[] = await db
      .knex('runs')
      .select('status')
      .count({ n: '*' })
      .groupBy('status')
    const items: { run_id: string; step_id: string; idx: number | string }[] = await db
      .knex('step_items')
      .select('run_id', 'step_id', 'idx')
    const keys = (status: string) =>
      new Set(steps.filter((s) => s.status === status).map((s) => `${s.run_id}:${s.step_id}`))
    return {
      running: keys('running'),
      succeeded: keys('succeeded'),
      runs: Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])),
      items: new Set(items.map((i) => `${i.run_id}:${i.step_id}:${Number(i.idx)}`)),
    }
  } finally {
    await db.close()
  }
}
