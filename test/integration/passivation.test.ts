// A run that only waits leaves memory (passivation) and takes nothing of itself along: no
// supervisor, no timer. A run's first checkpoints follow each other fast (its start, then its
// delay's wait), and a run passivated when the first was durable, before the second's effects,
// left the second's timer armed on a supervisor no longer in memory: its memory held, and its
// `due` fired later on a stale copy of the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { until } from '../helpers/until.js'

let engine: Engine

/** The engine's alarm clock: how many timers it holds. */
const timersArmed = () => (engine as unknown as { timers: { size: number } }).timers.size

beforeAll(async () => {
  engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), passivateAfterMs: 200 })
  // a started engine passivates runs that only wait
  await engine.start()
  await engine.deploy({
    id: 'parked',
    trigger: { uses: 'manual' },
    steps: [
      { id: 'wait', uses: 'flow.delay', with: { for: '1h' } },
      { id: 'after', uses: 'data.set', needs: ['wait'], with: { value: 'woke' } },
    ],
  })
})

afterAll(async () => engine?.close())

describe(`runs that leave memory (${TEST_DB})`, () => {
  it('leave no timer behind: 200 runs parked on a distant delay', async () => {
    await Promise.all(Array.from({ length: 200 }, (_, n) => engine.startRun('parked', { n })))
    await until('200 passivated runs', 10_000, async () => {
      const [row] = await engine.db
        .knex('runs')
        .where({ status: 'waiting' })
        .whereNull('owner')
        .count({ n: '*' })
      return Number(row?.n) === 200 && engine.activeRuns === 0
    })
    expect(timersArmed()).toBe(0)
  })
})
