// The crash test of the v2 constructs: runs with `forEach` steps (`code.run` items, idempotent
// `http.request` items, a `workflow.run` per item) and a `flow.wait` whose signal is sent while
// `piecework serve` is being SIGKILLed and restarted on the same database. Every accepted run must
// succeed with the data of its signal, each signal be taken once, no item whose result was durable
// run again, and no step attempt start a second child.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/store/orm.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, killTestEnv, ServeProcess, sleep } from '../helpers/serve-process.js'
import { SideEffectServer } from './side-effect-server.js'
import { type Snapshot, snapshot } from './snapshot.js'

const RUNS = 12
const ITEMS = 50
const CHILDREN = 10
const KILLS = 5

const child = (url: string) => ({
  id: 'crash-v2-child',
  trigger: { uses: 'manual' },
  steps: [
    { id: 'double', uses: 'code.run', with: { code: 'return { n: input.n * 2 }' } },
    {
      id: 'notify',
      uses: 'http.request',
      needs: ['double'],
      with: { method: 'POST', url: `${url}/effects/notify`, idempotent: true, body: { n: '{{ input.n }}' } },
    },
  ],
  output: '{{ { "n": steps.double.output.n, "key": steps.notify.output.body.key } }}',
})

const parent = (url: string) => ({
  id: 'crash-v2',
  trigger: { uses: 'manual' },
  steps: [
    {
      id: 'squares',
      uses: 'code.run',
      forEach: { items: '{{ input.xs }}', concurrency: 4 },
      with: { code: 'return item * item' },
    },
    {
      id: 'calls',
      uses: 'http.request',
      needs: ['squares'],
      forEach: { items: '{{ trigger.xs }}', concurrency: 5 },
      with: { method: 'POST', url: `${url}/effects/item`, idempotent: true, body: { i: '{{ item }}' } },
    },
    {
      id: 'kids',
      uses: 'workflow.run',
      needs: ['calls'],
      forEach: { items: '{{ $filter(trigger.xs, function($x) { $x < 10 }) }}', concurrency: 5 },
      with: { workflow: 'crash-v2-child', input: { n: '{{ item }}' } },
    },
    { id: 'approval', uses: 'flow.wait', needs: ['kids'], with: { signal: 'go' } },
  ],
  output:
    '{{ { "squares": $sum(steps.squares.output), "calls": $count(steps.calls.output), "kids": $sum(steps.kids.output.n), "go": steps.approval.output.token } }}',
})

const xs = Array.from({ length: ITEMS }, (_, i) => i)
const expectedOutput = (token: number) => ({
  squares: xs.reduce((s, x) => s + x * x, 0),
  calls: ITEMS,
  kids: xs.filter((x) => x < CHILDREN).reduce((s, x) => s + 2 * x, 0),
  go: token,
})

describe(`v2 constructs while piecework serve is killed (${TEST_DB})`, () => {
  let effects: SideEffectServer
  let serve: ServeProcess
  let databaseUrl: string

  beforeAll(async () => {
    effects = await SideEffectServer.start({ latencyMs: [5, 40] })
    databaseUrl = await freshDatabaseUrl()
    const port = await freePort()
    serve = new ServeProcess(port, {
      ...killTestEnv(port, databaseUrl),
      PIECEWORK_RUNS_PASSIVATE_AFTER: '500ms',
      PIECEWORK_RUNS_MAX_INTERRUPTIONS: '1000',
    })
    await serve.start()
  }, 90_000)

  afterAll(async () => {
    if (serve?.running) await serve.kill()
    await effects?.close()
  })

  it('loses no run and no signal, re-runs no durable item, starts no second child', async () => {
    for (const definition of [child(effects.url), parent(effects.url)])
      await serve.json('/api/v1/workflows', { json: definition }, 201)

    // starts and signals go through whichever process is up; a request that met a kill is sent again
    const send = async (path: string, json: unknown): Promise<Response> => {
      for (;;) {
        if (serve.serving) {
          try {
            const res = await serve.request(path, { json })
            if (res.status !== 503) return res
          } catch {}
        }
        await sleep(50)
      }
    }
    const runs: { id: string; token: number }[] = []
    const signalled: Promise<void>[] = []
    const unexpected: string[] = []
    const loading = (async () => {
      for (let n = 0; n < RUNS; n++) {
        const res = await send('/api/v1/workflows/crash-v2/runs', { input: { xs } })
        if (res.status !== 202) {
          unexpected.push(`start: ${res.status} ${await res.text()}`)
          continue
        }
        const { id } = (await res.json()) as { id: string }
        const token = 1000 + n
        runs.push({ id, token })
        signalled.push(
          (async () => {
            await sleep(500 + Math.random() * 4000)
            const sent = await send(`/api/v1/runs/${id}/signals/go`, { data: { token } })
            if (sent.status !== 202) unexpected.push(`signal: ${sent.status} ${await sent.text()}`)
          })(),
        )
        await sleep(150)
      }
    })()

    const snapshots: Snapshot[] = []
    for (let k = 0; k < KILLS; k++) {
      await sleep(600 + Math.random() * 1400)
      await serve.kill()
      snapshots.push(await snapshot(databaseUrl))
      effects.generation += 1
      await serve.start()
    }
    await loading
    await Promise.all(signalled)

    const deadline = Date.now() + 120_000
    const views = new Map<string, { status: string; output: unknown; error: unknown }>()
    for (const { id } of runs) {
      for (;;) {
        const view = await serve.json<{ status: string; output: unknown; error: unknown }>(
          `/api/v1/runs/${id}`,
        )
        if (['succeeded', 'failed', 'cancelled'].includes(view.status) || Date.now() > deadline) {
          views.set(id, view)
          break
        }
        await sleep(300)
      }
    }

    const problems: string[] = []
    for (const { id, token } of runs) {
      const view = views.get(id)!
      if (view.status !== 'succeeded')
        problems.push(`run ${id} ended ${view.status} ${JSON.stringify(view.error)}`)
      else if (JSON.stringify(view.output) !== JSON.stringify(expectedOutput(token)))
        problems.push(`run ${id}: output ${JSON.stringify(view.output)}`)
    }
    // a side effect repeated after kill k: its item or step was not durable at k
    for (const key of effects.keys()) {
      const calls = effects.callsFor(key)
      for (let i = 1; i < calls.length; i++) {
        const kill = calls[i - 1]!.gen
        const snap = snapshots[kill]
        if (calls[i]!.gen <= kill) problems.push(`${key}: called twice by process #${kill + 1}`)
        else if (snap && (snap.items.has(key) || snap.succeeded.has(key)))
          problems.push(`${key}: durable at kill ${kill + 1}, yet called again`)
      }
    }
    const db = await openDatabase(databaseUrl, { migrate: false })
    let children: { parent_run_id: string; n: number | string }[]
    let taken: { run_id: string; n: number | string }[]
    try {
      children = await db
        .knex('runs')
        .select('parent_run_id')
        .count({ n: '*' })
        .whereNotNull('parent_run_id')
        .groupBy('parent_run_id')
      taken = await db
        .knex('signals')
        .select('run_id')
        .count({ n: '*' })
        .where('name', 'go')
        .whereNotNull('taken_at')
        .groupBy('run_id')
    } finally {
      await db.close()
    }
    for (const row of children)
      if (Number(row.n) !== CHILDREN)
        problems.push(`run ${row.parent_run_id} has ${row.n} children, not ${CHILDREN}`)
    for (const { id } of runs)
      if (Number(taken.find((t) => t.run_id === id)?.n ?? 0) !== 1)
        problems.push(`run ${id}: its signal was taken ${taken.find((t) => t.run_id === id)?.n ?? 0} times`)

    const repeats = effects.keys().filter((k) => effects.callsFor(k).length > 1).length
    console.log(
      `crash test v2 (${TEST_DB}): runs=${runs.length} kills=${snapshots.length} effect calls=${effects.calls.length} ` +
        `repeated effects=${repeats} children=${children.reduce((s, r) => s + Number(r.n), 0)}`,
    )
    const context = `${problems.slice(0, 20).join('\n')}\n--- server output (tail) ---\n${serve.output().slice(-5000)}`
    expect(unexpected, context).toEqual([])
    expect(runs.length).toBe(RUNS)
    expect(children.length, context).toBe(RUNS)
    expect(problems, context).toEqual([])
  }, 240_000)
})
