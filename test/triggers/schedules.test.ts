// Schedule triggers: the latest due time of a span found without walking it; in process, one
// catch-up after downtime and schedules read again only when they change; against `piecework serve`
// children, one fire per due time, across two processes on one database and across a restart,
// overlap handling, and invalid schedules refused at create.
import { Cron } from 'croner'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import { latestDue, Scheduler } from '../../src/triggers/schedules.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { createWorkflow, getJson, type Step } from '../http/api-client.js'
import { expectError } from '../http/expect-error.js'
import { type RunBody, startServer, type TestServer } from '../http/server.js'
import { eventually, floorSecond, fullRuns, sleep, tempDir, WHOLE_SECOND, writeFile } from './helpers.js'

const EVERY_SECOND = '* * * * * *'

function scheduled(id: string, schedule: Record<string, unknown>, steps?: Step[]) {
  return {
    id,
    trigger: { uses: 'schedule', with: schedule },
    steps: steps ?? [{ id: 'tick', uses: 'data.set', with: { value: '{{ input }}' } }],
  }
}

interface Fire {
  scheduledAt: string
  firedAt: string
}

const fireOf = (run: RunBody) => run.input as Fire

/** The due times of the runs, in order, as epoch ms. */
const dueTimes = (runs: RunBody[]) => runs.map((r) => Date.parse(fireOf(r).scheduledAt)).sort((a, b) => a - b)

function largestGap(times: number[]): number {
  let gap = 0
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!)
  return gap
}

/** The error with what the servers wrote, for a failure that needs their side of the story. */
function withOutput(error: unknown, servers: Record<string, TestServer>): Error {
  const logs = Object.entries(servers).map(([name, s]) => `--- ${name}:\n${s.output()}`)
  return Object.assign(error as Error, { message: `${(error as Error).message}\n${logs.join('\n')}` })
}

async function remove(server: TestServer, id: string) {
  expect((await server.request(`/api/v1/workflows/${id}`, { method: 'DELETE' })).status).toBe(204)
  // lets the scheduler's reload settle: a delete racing it is the subject of a test of its own
  await sleep(300)
}

const SECOND = 1000
const HOUR = 3_600 * SECOND
const DAY = 24 * HOUR
const YEAR = 365 * DAY
const T = Date.parse('2024-03-01T10:30:00Z')
const cron = (pattern: string, timezone = 'UTC') => new Cron(pattern, { timezone, paused: true })

/** Every due time in (after, now], one by one: what the scheduler did before, as a reference. */
function walk(c: Cron, after: number, now: number): number | undefined {
  let due: number | undefined
  for (let next = c.nextRun(new Date(after)); next && next.getTime() <= now; next = c.nextRun(next)) {
    due = next.getTime()
  }
  return due
}

describe('latestDue', () => {
  const cases: [string, string, number, number, number | undefined][] = [
    ['nothing due within the same second', EVERY_SECOND, T, T + 500, undefined],
    ['a due time at the end of the span counts', EVERY_SECOND, T, T + SECOND, T + SECOND],
    ['a due time at the start of the span does not', '0 30 10 * * *', T, T + HOUR, undefined],
    ['the one due time of a usual tick', EVERY_SECOND, T + 200, T + 1_300, T + SECOND],
    ['the latest of many, not the first', EVERY_SECOND, T, T + 10_999, T + 10 * SECOND],
    [
      'the latest hour of a morning',
      '0 * * * *',
      T,
      T + 3 * HOUR + 29 * 60 * SECOND,
      T + 3 * HOUR - 30 * 60 * SECOND,
    ],
    ['a per-second cron after a year away', EVERY_SECOND, T, T + YEAR + 750, T + YEAR],
    [
      'a cron read in its time zone (9:00 in Kolkata is 03:30 UTC)',
      '0 9 * * *',
      T,
      Date.parse('2024-03-10T12:00:00Z'),
      Date.parse('2024-03-10T03:30:00Z'),
    ],
  ]
  it.each(cases)('%s', (_name, pattern, after, now, expected) => {
    const zone = pattern === '0 9 * * *' ? 'Asia/Kolkata' : 'UTC'
    expect(latestDue(cron(pattern, zone), after, now)).toBe(expected)
  })

  it('finds what walking every due time finds, over spans of many lengths', () => {
    // each pattern over spans from none to a few hundred of its due times
    const spans: [string, number[]][] = [
      [EVERY_SECOND, [0, 999, 1_000, 1_001, 61_000, 300_500]],
      ['*/7 * * * * *', [6_999, 7_000, 60_000, 30 * 60_000]],
      ['15 */5 * * * *', [5 * 60_000 + 15_000, HOUR, 12 * HOUR]],
      ['0 0 * * 1-5', [DAY, 3 * DAY, 9 * DAY, 200 * DAY]],
    ]
    for (const [pattern, lengths] of spans) {
      for (const span of lengths) {
        for (const offset of [0, 1, 499, 999]) {
          const after = T + offset
          const c = cron(pattern)
          expect(latestDue(c, after, after + span), `${pattern} over ${span} ms`).toBe(
            walk(c, after, after + span),
          )
        }
      }
    }
  })

  it('asks the cron a few dozen times for a year of a per-second schedule', () => {
    const c = cron(EVERY_SECOND)
    const nextRun = vi.spyOn(c, 'nextRun')
    latestDue(c, T, T + YEAR)
    expect(nextRun.mock.calls.length).toBeLessThan(50)
  })

  it('finds nothing for a cron with no due time left', () => {
    expect(latestDue({ nextRun: () => null }, T, T + YEAR)).toBeUndefined()
  })
})

describe(`the scheduler in process (${TEST_DB})`, () => {
  let engine: Engine
  let scheduler: Scheduler | undefined

  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
  })

  afterEach(async () => {
    await scheduler?.stop()
    scheduler = undefined
    vi.restoreAllMocks()
  })

  afterAll(async () => {
    await engine?.close()
  })

  const fires = (workflowId: string) =>
    engine.db.knex('schedule_fires').where({ workflow_id: workflowId }).orderBy('due_at')

  it('fires one catch-up after a year without an engine, the latest due time, at once', async () => {
    await engine.deploy(scheduled('a-year-away', { cron: EVERY_SECOND, overlap: 'allow' }))
    const lastFire = floorSecond(new Date(Date.now() - YEAR).toISOString())
    await engine.db.knex('schedule_fires').insert({
      workflow_id: 'a-year-away',
      due_at: lastFire,
      fired_at: lastFire,
      run_id: null,
      outcome: 'skipped',
    })
    // ticks and refreshes only when the test asks
    scheduler = new Scheduler(engine, HOUR, HOUR)
    const before = Date.now()
    await scheduler.start()
    const after = Date.now()
    expect(after - before, 'start with a year of missed due times').toBeLessThan(2_000)

    const rows = await fires('a-year-away')
    expect(rows).toHaveLength(2)
    const caughtUp = rows[1]!
    expect(caughtUp.outcome).toBe('started')
    // the latest due time by the tick: a whole second no later than when it fired
    expect(Number(caughtUp.due_at)).toBe(floorSecond(new Date(Number(caughtUp.fired_at)).toISOString()))
    expect(Number(caughtUp.due_at)).toBeGreaterThan(before - 2 * SECOND)
    const run = await engine.getRun(caughtUp.run_id, 10_000)
    expect(run.status).toBe('succeeded')
    expect((run.input as Fire).scheduledAt).toBe(new Date(Number(caughtUp.due_at)).toISOString())
    await engine.workflows.remove('a-year-away')
  })

  it('reads a schedule again only when its version changes', async () => {
    await engine.deploy(scheduled('read-once', { cron: '0 0 1 1 *' }))
    const versions = vi.spyOn(engine.workflows, 'currentVersions')
    const reads = vi.spyOn(engine.workflows, 'get')
    scheduler = new Scheduler(engine, HOUR, HOUR)
    await scheduler.start()
    const readOnce = reads.mock.calls.filter(([id]) => id === 'read-once').length
    expect(readOnce).toBe(1)

    for (let i = 0; i < 5; i++) {
      await scheduler.reload()
      await scheduler.tick()
    }
    expect(versions.mock.calls.length).toBeGreaterThanOrEqual(6)
    expect(reads.mock.calls.filter(([id]) => id === 'read-once')).toHaveLength(readOnce)

    await engine.deploy(scheduled('read-once', { cron: '0 0 2 1 *' }))
    engine.workflowChanged('read-once')
    await scheduler.reload()
    expect(reads.mock.calls.filter(([id]) => id === 'read-once')).toHaveLength(readOnce + 1)
  })

  it('serves calls made during a reload with one more reload, not one each', async () => {
    scheduler = new Scheduler(engine, HOUR, HOUR)
    await scheduler.start()
    const versions = vi.spyOn(engine.workflows, 'currentVersions')
    await Promise.all(Array.from({ length: 10 }, () => scheduler!.reload()))
    expect(versions.mock.calls.length).toBeLessThanOrEqual(2)
  })

  it('notices a change made without an event (by another process) within its refresh', async () => {
    await engine.deploy(scheduled('changed-elsewhere', { cron: '0 0 1 1 *', overlap: 'allow' }))
    scheduler = new Scheduler(engine, 200, 300)
    await scheduler.start()
    // stored as another process would store it: no `workflow` event here
    await engine.deploy(scheduled('changed-elsewhere', { cron: EVERY_SECOND, overlap: 'allow' }))
    await eventually(async () => ((await fires('changed-elsewhere')).length > 0 ? true : undefined), 'a fire')
    await engine.workflows.remove('changed-elsewhere')
    await sleep(700)
    const settled = (await fires('changed-elsewhere')).length
    await sleep(2_200)
    expect(await fires('changed-elsewhere'), 'fires after the delete').toHaveLength(settled)
  })
})

describe(`schedules on one process (${TEST_DB})`, () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer()
  })

  afterEach(({ task }) => {
    // a dead server fails the tests after it: say why it died
    if (task.result?.state === 'fail') task.result.errors?.push({ message: server.output() } as never)
  })

  afterAll(async () => {
    await server?.stop()
  })

  it('fires a per-second cron once per due time with { scheduledAt, firedAt }', async () => {
    const created = await createWorkflow(
      server,
      scheduled('every-second', { cron: '*/1 * * * * *', overlap: 'allow' }),
    )
    await sleep(4_500)
    await remove(server, 'every-second')
    await sleep(300)
    const runs = await fullRuns(server, 'every-second')
    await sleep(1_500)
    expect(await fullRuns(server, 'every-second'), 'runs after the delete').toHaveLength(runs.length)

    expect(runs.length).toBeGreaterThanOrEqual(3)
    for (const run of runs) {
      expect(Object.keys(run.input as object).sort()).toEqual(['firedAt', 'scheduledAt'])
      const { scheduledAt, firedAt } = fireOf(run)
      expect(scheduledAt).toMatch(WHOLE_SECOND)
      expect(Date.parse(firedAt)).toBeGreaterThanOrEqual(Date.parse(scheduledAt))
      expect(Date.parse(firedAt) - Date.parse(scheduledAt)).toBeLessThan(2_000)
      // no backlog from before the workflow existed
      expect(Date.parse(scheduledAt)).toBeGreaterThanOrEqual(floorSecond(created.createdAt))
    }
    const times = dueTimes(runs)
    expect(new Set(times).size).toBe(times.length)
    expect(largestGap(times)).toBeLessThanOrEqual(2_000)
  })

  it('does not start a run while the previous one is in flight with overlap: skip', async () => {
    await createWorkflow(
      server,
      scheduled('no-overlap', { cron: EVERY_SECOND, overlap: 'skip' }, [
        { id: 'slow', uses: 'flow.delay', with: { for: '2500ms' } },
      ]),
    )
    await sleep(6_500)
    await remove(server, 'no-overlap')
    const runs = await fullRuns(server, 'no-overlap')

    // about one run per 3 s instead of one per second
    expect(runs.length).toBeGreaterThanOrEqual(2)
    expect(runs.length).toBeLessThanOrEqual(3)
    for (let i = 1; i < runs.length; i++) {
      const previous = runs[i - 1]!
      expect(previous.finishedAt, `run ${previous.id} is ${previous.status}`).not.toBeNull()
      expect(Date.parse(runs[i]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(previous.finishedAt!))
    }
    expect(new Set(dueTimes(runs)).size).toBe(runs.length)
  })

  it('starts overlapping runs with overlap: allow', async () => {
    await createWorkflow(
      server,
      scheduled('with-overlap', { cron: EVERY_SECOND, overlap: 'allow' }, [
        { id: 'slow', uses: 'flow.delay', with: { for: '2500ms' } },
      ]),
    )
    // four or five due seconds: a busy machine may start the first one late
    await sleep(4_500)
    await remove(server, 'with-overlap')
    const runs = await fullRuns(server, 'with-overlap')
    expect(runs.length).toBeGreaterThanOrEqual(3)
    const overlapping = runs.slice(1).filter((run, i) => {
      const previous = runs[i]!
      return previous.finishedAt === null || Date.parse(run.createdAt) < Date.parse(previous.finishedAt)
    })
    expect(overlapping.length).toBeGreaterThanOrEqual(1)
  })

  it('refuses an invalid cron with 400 naming the cron', async () => {
    for (const cron of ['every minute please', '61 * * * *', '* * * * * * *', '* * *']) {
      const res = await server.request('/api/v1/workflows', { json: scheduled('bad-cron', { cron }) })
      const body = await expectError(res, 400, 'VALIDATION')
      expect(body.error.details, cron).toContainEqual({
        path: 'trigger.with.cron',
        message: expect.any(String),
      })
    }
  })

  it('refuses an unknown time zone with 400 naming the time zone', async () => {
    const res = await server.request('/api/v1/workflows', {
      json: scheduled('bad-zone', { cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons' }),
    })
    const body = await expectError(res, 400, 'VALIDATION')
    expect(body.error.details).toContainEqual({ path: 'trigger.with.timezone', message: expect.any(String) })
    expect((await server.request('/api/v1/workflows/bad-zone')).status).toBe(404)
  })

  it("reads a cron's hours in its time zone", async () => {
    const kolkata = () => {
      const parts = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Asia/Kolkata',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        hourCycle: 'h23',
      }).formatToParts(new Date())
      const part = (type: string) => Number(parts.find((p) => p.type === type)!.value)
      return { hour: part('hour'), left: 3600 - part('minute') * 60 - part('second') }
    }
    // stay clear of the turn of the hour in Kolkata
    if (kolkata().left < 6) await sleep(kolkata().left * 1000 + 1000)
    // Kolkata is UTC+5:30: this hour there is never this hour in UTC
    const cron = `* * ${kolkata().hour} * * *`
    await createWorkflow(
      server,
      scheduled('in-kolkata', { cron, timezone: 'Asia/Kolkata', overlap: 'allow' }),
    )
    await createWorkflow(server, scheduled('in-utc', { cron, timezone: 'UTC', overlap: 'allow' }))
    await sleep(2_500)
    await remove(server, 'in-kolkata')
    await remove(server, 'in-utc')
    expect((await fullRuns(server, 'in-kolkata')).length).toBeGreaterThanOrEqual(1)
    expect(await fullRuns(server, 'in-utc')).toEqual([])
  })

  it('accepts a 5-field cron with an IANA time zone', async () => {
    await createWorkflow(
      server,
      scheduled('nine-in-berlin', { cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' }),
    )
    await remove(server, 'nine-in-berlin')
  })
})

describe(`schedule changes in quick succession (${TEST_DB})`, () => {
  it('keeps serving when schedule workflows are deleted one right after another', async () => {
    const server = await startServer()
    try {
      const ids = ['gone-1', 'gone-2', 'gone-3', 'gone-4', 'gone-5', 'gone-6']
      for (const id of ids) await createWorkflow(server, scheduled(id, { cron: '0 0 1 1 *' }))
      for (const id of ids) {
        const res = await server.request(`/api/v1/workflows/${id}`, { method: 'DELETE' })
        expect(res.status, await res.clone().text()).toBe(204)
      }
      await Promise.all(ids.map(async (id) => createWorkflow(server, scheduled(id, { cron: '0 0 1 1 *' }))))
      await Promise.all(
        ids.map(async (id) => {
          const res = await server.request(`/api/v1/workflows/${id}`, { method: 'DELETE' })
          expect(res.status, await res.clone().text()).toBe(204)
        }),
      )
      await sleep(1_000)
      expect((await server.request('/health')).status).toBe(200)
    } catch (error) {
      throw withOutput(error, { server })
    } finally {
      await server.stop().catch(() => null)
    }
  })
})

describe.skipIf(TEST_DB !== 'postgres')(`schedules on two processes of one database (${TEST_DB})`, () => {
  let first: TestServer
  let second: TestServer

  beforeAll(async () => {
    const folder = tempDir('schedule-flows')
    writeFile(folder, 'shared.yaml', scheduled('shared-schedule', { cron: EVERY_SECOND, overlap: 'allow' }))
    const env = { PIECEWORK_DATABASE_URL: await freshDatabaseUrl(), PIECEWORK_WORKFLOWS_DIR: folder }
    first = await startServer({ env })
    second = await startServer({ env })
  })

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()])
  })

  it('fires every due time once across two processes deploying the same folder', async () => {
    try {
      const from = Date.now()
      await sleep(6_000)
      const runs = await fullRuns(first, 'shared-schedule')
      const times = dueTimes(runs).filter((t) => t >= from)
      expect(times.length).toBeGreaterThanOrEqual(4)
      const counts = new Map<number, number>()
      for (const t of dueTimes(runs)) counts.set(t, (counts.get(t) ?? 0) + 1)
      const duplicates = [...counts].filter(([, n]) => n > 1).map(([t]) => new Date(t).toISOString())
      expect(duplicates).toEqual([])
      expect(largestGap(times)).toBeLessThanOrEqual(2_000)
      // both deployed the folder, yet there is one version
      for (const server of [first, second]) {
        expect(await getJson(server, '/api/v1/workflows/shared-schedule')).toMatchObject({ version: 1 })
      }
    } catch (error) {
      throw withOutput(error, { first, second })
    }
  })

  it('follows a cron changed through one process on the other process too', async () => {
    try {
      // made through the API (one deployed from the folder is changed only through its file)
      await createWorkflow(first, scheduled('api-schedule', { cron: EVERY_SECOND, overlap: 'allow' }))
      await eventually(
        async () => ((await fullRuns(first, 'api-schedule')).length >= 2 ? true : undefined),
        'fires of the schedule made through the API',
      )
      // once a year, at midnight on the first of January
      const res = await first.request('/api/v1/workflows/api-schedule', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(scheduled('api-schedule', { cron: '0 0 1 1 *', overlap: 'allow' })),
      })
      expect(res.status, await res.clone().text()).toBe(200)
      // the second process learns of the change within its refresh (SCHEDULE_REFRESH_MS, 2 s)
      await sleep(3_000)
      const settled = (await fullRuns(first, 'api-schedule')).length
      await sleep(3_000)
      const later = await fullRuns(first, 'api-schedule')
      expect(
        later.slice(settled).map((r) => ({ version: r.workflowVersion, ...fireOf(r) })),
        'runs after the cron changed to once a year',
      ).toEqual([])
    } catch (error) {
      throw withOutput(error, { first, second })
    }
  })
})

describe(`schedules across restarts (${TEST_DB})`, () => {
  it('fires a due time missed while stopped once after the restart, the latest one only', async () => {
    const env = { PIECEWORK_DATABASE_URL: await freshDatabaseUrl() }
    let server = await startServer({ env })
    try {
      await createWorkflow(server, scheduled('missed', { cron: EVERY_SECOND, overlap: 'allow' }))
      await eventually(
        async () => ((await fullRuns(server, 'missed')).length >= 1 ? true : undefined),
        'a first fire',
      )
      expect(await server.stop()).toBe(0)
      const stoppedAt = Date.now()
      await sleep(3_500)
      const restartedAt = Date.now()
      server = await startServer({ env })
      // two fires of the new life: the missed one and a regular one after it
      await eventually(async () => {
        const runs = await fullRuns(server, 'missed')
        return runs.filter((r) => Date.parse(fireOf(r).firedAt) >= restartedAt).length >= 2 ? runs : undefined
      }, 'two fires after the restart')
      await remove(server, 'missed')
      const runs = await fullRuns(server, 'missed')

      const lastLife = runs.filter((r) => Date.parse(fireOf(r).firedAt) < stoppedAt)
      const newLife = runs.filter((r) => Date.parse(fireOf(r).firedAt) >= restartedAt)
      expect(lastLife.length + newLife.length).toBe(runs.length)
      expect(lastLife.every((r) => Date.parse(fireOf(r).scheduledAt) < stoppedAt)).toBe(true)

      // the new life's first look at the schedule: every due time between the stop and then was missed
      const first = newLife.sort((a, b) => Date.parse(fireOf(a).firedAt) - Date.parse(fireOf(b).firedAt))[0]!
      const lookedAt = Date.parse(fireOf(first).firedAt)
      expect(lookedAt - stoppedAt).toBeGreaterThan(3_000)
      const inDowntime = runs
        .map(fireOf)
        .filter((f) => Date.parse(f.scheduledAt) > stoppedAt && Date.parse(f.scheduledAt) <= lookedAt)
      expect(inDowntime).toEqual([fireOf(first)])
      // ...and the one fired is the latest of them
      expect(Date.parse(fireOf(first).scheduledAt)).toBe(floorSecond(fireOf(first).firedAt))

      const times = dueTimes(runs)
      expect(new Set(times).size).toBe(times.length)
    } finally {
      await server.stop()
    }
  })
})
