// A `workflow.run` step's child run is stored in the same commit as the parent's step that names
// it: never a child without the step that started it, never a step naming a child not stored. On
// PostgreSQL a deferred trigger (it fires at commit, and sees the whole transaction) notes, for
// each child row inserted, whether its parent's step names it in that commit. The middle workflow
// has a `concurrency` limit: its runs wait for their row to be stored, then for a place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { step, workflow } from './workflows.js'

let engine: Engine
let top: { id: string }

const NOTE_AT_COMMIT = `
create table child_commits (child text, named_by_parent boolean);
create function note_child() returns trigger language plpgsql as $$
begin
  if new.parent_run_id is not null then
    insert into child_commits values (new.id, exists (
      select 1 from step_states
      where run_id = new.parent_run_id and step_id = new.parent_step_id and child_run_id = new.id));
  end if;
  return null;
end $$;
create constraint trigger child_commit after insert on runs
  deferrable initially deferred for each row execute function note_child();`

describe(`a child run's row (${TEST_DB})`, () => {
  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl() })
    if (TEST_DB === 'postgres') await engine.db.knex.raw(NOTE_AT_COMMIT)
    await engine.start()
    const leaf = workflow('leaf', [step('set', 'data.set', { value: { depth: 2 } })], {
      output: '{{ steps.set.output }}',
    })
    const middle = workflow('middle', [step('call', 'workflow.run', { workflow: leaf.id })], {
      concurrency: 1,
    })
    top = workflow(
      'top',
      [
        step('call', 'workflow.run', { workflow: middle.id }),
        step('loose', 'workflow.run', { workflow: leaf.id, wait: false }),
      ],
      { output: '{{ steps.call.output }}' },
    )
    for (const definition of [leaf, middle, top]) await engine.deploy(definition)
  })

  afterAll(async () => engine?.close())

  it('starts the child, waited for or not, one at a time or several at once under a limit', async () => {
    for (let i = 0; i < 5; i++) {
      const { id } = await engine.startRun(top.id, { i })
      const run = await engine.getRun(id, 10_000)
      expect(run.status).toBe('succeeded')
      expect(run.output).toEqual({ depth: 2 })
    }
    const together = await Promise.all([1, 2, 3].map((i) => engine.startRun(top.id, { i })))
    for (const { id } of together) expect((await engine.getRun(id, 10_000)).status).toBe('succeeded')
  })

  it.skipIf(TEST_DB !== 'postgres')('is committed with the parent step that names it', async () => {
    const rows = await engine.db.knex('child_commits').select('named_by_parent')
    // each run of top starts middle and a loose leaf; middle starts a leaf
    expect(rows).toHaveLength(8 * 3)
    expect(rows.filter((r) => !r.named_by_parent)).toEqual([])
  })
})
