// Three `piecework serve` processes on one PostgreSQL database share 600 runs. One is SIGKILLed; one
// is stopped (SIGSTOP) past its leases and then woken; the third carries on. The runs of the first
// two are taken over; the woken one makes no further call and no further write for the runs it lost,
// and goes on serving. Every run finishes, no step's result is written twice, and no side effect
// is called beyond those in flight at the kill or the stop.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, ServeProcess, serveEnv, sleep } from '../helpers/serve-process.js'
import { SideEffectServer } from './side-effect-server.js'
import { burn, effect } from './workflows.js'

const RUNS = 600

const pidOf = (server: ServeProcess) => (server as unknown as { child: { pid: number } }).child.pid

describe.runIf(TEST_DB === 'postgres')('three processes, one killed and one stalled (postgres)', () => {
  let effects: SideEffectServer
  let databaseUrl: string
  let admin: pg.Client
  const servers: ServeProcess[] = []

  beforeAll(async () => {
    effects = await SideEffectServer.start({ latencyMs: [5, 20] })
    databaseUrl = await freshDatabaseUrl()
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const server = new ServeProcess(port, {
        ...serveEnv(port, databaseUrl),
        PIECEWORK_RUNS_LEASE_TTL: '2s',
        PIECEWORK_RUNS_POLL_INTERVAL: '200ms',
        PIECEWORK_WORKERS_THREADS: '1',
        PIECEWORK_SANDBOX_PROCESSES: '1',
      })
      await server.start()
      servers.push(server)
    }
    admin = new pg.Client({ connectionString: databaseUrl })
    await admin.connect()
    // every time a step's row is written as finished: a result written twice shows here
    await admin.query(`
      create table finishes (run_id text, step_id text, status text);
      create function record_finish() returns trigger as $$
      begin
        if new.status in ('succeeded', 'failed') and (tg_op = 'INSERT' or old.status is distinct from new.status or old.output is distinct from new.output) then
          insert into finishes values (new.run_id, new.step_id, new.status);
        end if;
        return new;
      end $$ language plpgsql;
      create trigger record_finish after insert or update on step_states for each row execute function record_finish();
    `)
  })
  afterAll(async () => {
    for (const server of servers) {
      if (!server.running) continue
      process.kill(pidOf(server), 'SIGCONT')
      await server.stop()
    }
    await admin?.end()
    await effects?.close()
  })

  it('finishes every run once, and refuses the late writes and calls of the stalled process', async () => {
    const [killed, stalled, survivor] = servers as [ServeProcess, ServeProcess, ServeProcess]
    await survivor.json(
      '/api/v1/workflows',
      {
        json: {
          id: 'shared',
          trigger: { uses: 'manual' },
          steps: [
            effect('one', [], effects.url),
            {
              id: 'pause',
              uses: 'flow.delay',
              needs: ['one'],
              with: { for: '{{ $string(500 + trigger.n % 1000) & "ms" }}' },
            },
            { id: 'work', uses: 'code.run', needs: ['pause'], with: { code: burn(2) } },
            effect('two', ['work'], effects.url),
          ],
        },
      },
      201,
    )
    // a version each process knows: they read workflows from the database
    const ids: string[] = []
    await Promise.all(
      servers.map(async (server, s) => {
        for (let i = s; i < RUNS; i += 3) {
          const { id } = await server.json<{ id: string }>(
            '/api/v1/workflows/shared/runs',
            { json: { input: { n: i } } },
            202,
          )
          ids.push(id)
        }
      }),
    )
    await killed.kill()
    process.kill(pidOf(stalled), 'SIGSTOP')
    let callsAtWake = 0
    let finishedAtWake: unknown[] = []
    // past the stalled one's leases, its runs are taken over; then it wakes
    await sleep(4_000)
    callsAtWake = effects.calls.length
    finishedAtWake = (await admin.query('select count(*)::int as n from finishes')).rows
    process.kill(pidOf(stalled), 'SIGCONT')
    const deadline = Date.now() + 90_000
    let statuses: string[] = []
    while (Date.now() < deadline) {
      const { rows } = await admin.query('select status, count(*)::int as n from runs group by status')
      statuses = rows.map((r) => `${r.status}:${r.n}`)
      if (rows.length === 1 && rows[0].status === 'succeeded' && rows[0].n === RUNS) break
      await sleep(500)
    }
    console.log(
      `runs: ${statuses.join(', ')}; side-effect calls ${effects.calls.length} for ${2 * RUNS} steps ` +
        `(${callsAtWake} before the wake-up; finishes then ${JSON.stringify(finishedAtWake)})`,
    )
    expect(statuses).toEqual([`succeeded:${RUNS}`])
    const twice = await admin.query(
      'select run_id, step_id, count(*)::int as n from finishes group by run_id, step_id having count(*) > 1',
    )
    expect(twice.rows).toEqual([])
    // a call is made again only for a step whose call was in flight at the kill or the stop (a
    // stalled worker sends it when woken), or made while the checkpoint that would have stored its
    // result was not yet durable: once more at most
    const repeated = effects.keys().filter((key) => effects.callsFor(key).length > 1)
    console.log(`side effects called again: ${repeated.length} (${repeated.slice(0, 8).join(', ')})`)
    for (const key of repeated) expect(effects.callsFor(key).length, key).toBe(2)
    // one thread a process, a call every 5-20 ms: the killed and the stalled process each hold a
    // few calls whose results are not durable yet, even when a commit takes 100 ms under load
    expect(repeated.length).toBeLessThanOrEqual(20)
    for (const id of ids) expect(effects.callsFor(`${id}:two`).length).toBeGreaterThanOrEqual(1)
    expect((await stalled.request('/health')).status).toBe(200)
    expect(stalled.output()).toMatch(/run left this process without ending/)
    // starting 600 runs, the stall and the 90 s deadline for the rest: more than the default 60 s
  }, 180_000)
})
