// Pausing a workflow through a real `piecework serve`: its triggers start nothing (schedules skip
// their due times, webhooks answer 409), manual starts answer 409, and resuming brings them back;
// across two processes on PostgreSQL, a pause through one stops the schedule the other runs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DB } from '../helpers/db.js'
import { countRuns, eventually, fullRuns, sleep } from '../triggers/helpers.js'
import { createWorkflow, getJson, manual, startRun } from './api-client.js'
import { expectError } from './expect-error.js'
import { startServer, startTwoServers, type TestServer } from './server.js'

interface PauseView {
  id: string
  version: number
  paused: boolean
  pausedAt: string | null
}

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})

afterEach(({ task }) => {
  if (task.result?.state === 'fail') task.result.errors?.push({ message: server.output() } as never)
})

afterAll(async () => {
  await server?.stop()
})

const echo = [{ id: 'echo', uses: 'data.set', with: { value: '{{ input }}' } }]
const EVERY_SECOND = '* * * * * *'

async function act(s: TestServer, id: string, action: 'pause' | 'resume'): Promise<PauseView> {
  const res = await s.request(`/api/v1/workflows/${id}/${action}`, { method: 'POST' })
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as PauseView
}

/** Runs created after a moment, by their createdAt. */
async function runsSince(s: TestServer, id: string, since: number): Promise<number> {
  return (await fullRuns(s, id)).filter((r) => Date.parse(r.createdAt) > since).length
}

describe(`pausing a workflow (${TEST_DB})`, () => {
  it('answers pause and resume with the workflow, shows it in the view and the list, and keeps the first pause time', async () => {
    await createWorkflow(server, manual('paused-view', echo))
    const paused = await act(server, 'paused-view', 'pause')
    expect(paused).toMatchObject({ id: 'paused-view', paused: true, pausedAt: expect.any(String) })
    expect(await getJson<PauseView>(server, '/api/v1/workflows/paused-view')).toMatchObject({ paused: true })
    const list = await getJson<{ items: PauseView[] }>(server, '/api/v1/workflows')
    expect(list.items.find((w) => w.id === 'paused-view')).toMatchObject({
      paused: true,
      pausedAt: paused.pausedAt,
    })
    // pausing again changes nothing
    expect((await act(server, 'paused-view', 'pause')).pausedAt).toBe(paused.pausedAt)
    expect(await act(server, 'paused-view', 'resume')).toMatchObject({ paused: false, pausedAt: null })
    expect(await act(server, 'paused-view', 'resume')).toMatchObject({ paused: false })
  })

  it('answers 404 for a workflow that does not exist', async () => {
    for (const action of ['pause', 'resume']) {
      const res = await server.request(`/api/v1/workflows/no-such-flow/${action}`, { method: 'POST' })
      const body = await expectError(res, 404, 'NOT_FOUND')
      expect(body.error.message).toContain("'no-such-flow'")
    }
  })

  it('answers a manual start of a paused workflow with 409 saying how to resume, and starts again once resumed', async () => {
    await createWorkflow(server, manual('paused-manual', echo))
    await act(server, 'paused-manual', 'pause')
    const res = await server.request('/api/v1/workflows/paused-manual/runs', { json: { input: {} } })
    const body = await expectError(res, 409, 'CONFLICT')
    expect(body.error.message).toBe(
      "workflow 'paused-manual' is paused: it starts no runs until it is resumed (POST /api/v1/workflows/paused-manual/resume)",
    )
    expect(await countRuns(server, 'paused-manual')).toBe(0)
    await act(server, 'paused-manual', 'resume')
    await startRun(server, 'paused-manual', { again: true })
    expect(await countRuns(server, 'paused-manual')).toBe(1)
  })

  it('answers a webhook of a paused workflow with 409 and starts nothing, from the first request after the pause', async () => {
    await createWorkflow(server, {
      id: 'paused-hook',
      trigger: { uses: 'webhook', with: { path: 'paused-hook' } },
      steps: echo,
    })
    // a start just before: the pause must not be hidden by what the server knew of the workflow then
    expect((await server.request('/hooks/paused-hook', { json: { n: 0 } })).status).toBe(202)
    await act(server, 'paused-hook', 'pause')
    await expectError(await server.request('/hooks/paused-hook', { json: { n: 1 } }), 409, 'CONFLICT')
    expect(await countRuns(server, 'paused-hook')).toBe(1)
    await act(server, 'paused-hook', 'resume')
    expect((await server.request('/hooks/paused-hook', { json: { n: 2 } })).status).toBe(202)
  })

  it('skips the due times of a paused schedule, and fires again once it is resumed', async () => {
    await createWorkflow(server, {
      id: 'paused-cron',
      trigger: { uses: 'schedule', with: { cron: EVERY_SECOND } },
      steps: echo,
    })
    await eventually(
      async () => ((await countRuns(server, 'paused-cron')) > 0 ? true : undefined),
      'a first fire',
    )
    await act(server, 'paused-cron', 'pause')
    // a fire already under way when the pause landed may still store its run
    const pausedAt = Date.now() + 500
    await sleep(3000)
    expect(await runsSince(server, 'paused-cron', pausedAt)).toBe(0)
    const resumedAt = Date.now()
    await act(server, 'paused-cron', 'resume')
    await eventually(
      async () => ((await runsSince(server, 'paused-cron', resumedAt)) > 0 ? true : undefined),
      'a fire after the resume',
    )
    await server.request('/api/v1/workflows/paused-cron', { method: 'DELETE' })
  })

  it('stays paused across a new version, and a workflow created again under a deleted id is not paused', async () => {
    await createWorkflow(server, manual('paused-versions', echo))
    await act(server, 'paused-versions', 'pause')
    const put = await server.request('/api/v1/workflows/paused-versions', {
      method: 'PUT',
      json: manual('paused-versions', [{ id: 'other', uses: 'data.set', with: { value: 2 } }]),
    })
    expect(put.status, await put.clone().text()).toBe(200)
    expect(await put.json()).toMatchObject({ version: 2, paused: true })
    expect((await server.request('/api/v1/workflows/paused-versions', { method: 'DELETE' })).status).toBe(204)
    expect(await createWorkflow(server, manual('paused-versions', echo))).toMatchObject({ paused: false })
  })
})

describe(`a pause across a restart (${TEST_DB})`, () => {
  it('is still in force after the server is stopped and started again on the same database', async () => {
    const restarted = await startServer()
    try {
      await createWorkflow(restarted, manual('paused-restart', echo))
      await act(restarted, 'paused-restart', 'pause')
      await restarted.stop()
      await restarted.start(30_000)
      expect(await getJson<PauseView>(restarted, '/api/v1/workflows/paused-restart')).toMatchObject({
        paused: true,
      })
      const res = await restarted.request('/api/v1/workflows/paused-restart/runs', { json: { input: {} } })
      await expectError(res, 409, 'CONFLICT')
    } finally {
      await restarted.stop()
    }
  })
})

describe(`pausing a workflow across processes (${TEST_DB})`, () => {
  it.skipIf(TEST_DB !== 'postgres')(
    'stops the schedule in every process when paused through one, and starts it again when resumed through another',
    async () => {
      const [first, second] = await startTwoServers()
      try {
        await createWorkflow(first, {
          id: 'shared-cron',
          trigger: { uses: 'schedule', with: { cron: EVERY_SECOND } },
          steps: echo,
        })
        await eventually(
          async () => ((await countRuns(first, 'shared-cron')) > 1 ? true : undefined),
          'fires',
        )
        await act(first, 'shared-cron', 'pause')
        const pausedAt = Date.now() + 500
        await sleep(3000)
        expect(await runsSince(second, 'shared-cron', pausedAt)).toBe(0)
        await expectError(
          await second.request('/api/v1/workflows/shared-cron/runs', { json: { input: {} } }),
          409,
        )
        const resumedAt = Date.now()
        await act(second, 'shared-cron', 'resume')
        await eventually(
          async () => ((await runsSince(first, 'shared-cron', resumedAt)) > 0 ? true : undefined),
          'a fire after the resume',
        )
      } finally {
        await Promise.all([first.stop(), second.stop()])
      }
    },
  )
})
