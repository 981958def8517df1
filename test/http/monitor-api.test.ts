// What the run monitor needs from the API, through app.request(): run counts by workflow and
// status, the time filter of the runs list, and a step's log lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DB } from '../helpers/db.js'
import { expectError } from './expect-error.js'
import { type InProcessApi, openInProcessApi } from './in-process.js'

let api: InProcessApi

interface Stats {
  since: string
  items: {
    workflowId: string
    counts: Record<string, number>
    lastRun: { id: string; status: string } | null
  }[]
  nextCursor: null
}

const logging = (id: string, lines: number, needs?: string[]) => ({
  id,
  uses: 'code.run',
  ...(needs ? { needs } : {}),
  with: { code: `for (let i = 0; i < ${lines}; i++) console.log('${id} line', i); return { ok: true }` },
})

async function deploy(definition: unknown) {
  const res = await api.request('/api/v1/workflows', { json: definition })
  expect(res.status, await res.clone().text()).toBe(201)
}

async function runToEnd(
  workflowId: string,
  input: unknown = {},
): Promise<{ id: string; status: string; createdAt: string }> {
  const res = await api.request(`/api/v1/workflows/${workflowId}/runs?wait=30s`, { json: { input } })
  expect(res.status).toBe(200)
  return (await res.json()) as { id: string; status: string; createdAt: string }
}

const json = async <T>(path: string): Promise<T> => {
  const res = await api.request(path)
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200)
  return res.json() as Promise<T>
}

beforeAll(async () => {
  api = await openInProcessApi()
  await deploy({
    id: 'two-steps',
    trigger: { uses: 'manual' },
    steps: [logging('a', 3), logging('b', 2, ['a'])],
  })
  await deploy({
    id: 'may-fail',
    trigger: { uses: 'manual' },
    steps: [
      {
        id: 'check',
        uses: 'code.run',
        with: { code: "if (input.fail) throw new Error('asked to fail'); return 1" },
      },
    ],
  })
  await deploy({
    id: 'never-run',
    trigger: { uses: 'manual' },
    steps: [{ id: 's', uses: 'data.set', with: { value: 1 } }],
  })
})

afterAll(async () => {
  await api?.close()
})

describe(`GET /api/v1/stats/runs (${TEST_DB})`, () => {
  it('counts each workflow runs of the last 24 h by status and names its newest run', async () => {
    await runToEnd('may-fail', { fail: false })
    const failed = await runToEnd('may-fail', { fail: true })
    expect(failed.status).toBe('failed')
    const stats = await json<Stats>('/api/v1/stats/runs')
    const byId = Object.fromEntries(stats.items.map((s) => [s.workflowId, s]))
    expect(byId['may-fail']).toEqual({
      workflowId: 'may-fail',
      counts: { succeeded: 1, failed: 1 },
      lastRun: { id: failed.id, status: 'failed', createdAt: failed.createdAt },
    })
    expect(byId['never-run']).toEqual({ workflowId: 'never-run', counts: {}, lastRun: null })
    expect(Date.now() - Date.parse(stats.since)).toBeGreaterThanOrEqual(24 * 3_600_000)
    expect(Date.now() - Date.parse(stats.since)).toBeLessThan(24 * 3_600_000 + 60_000)
  })

  it('counts only runs since the time given, and still names the newest run', async () => {
    const stats = await json<Stats>('/api/v1/stats/runs?since=2999-01-01T00:00:00Z')
    const mayFail = stats.items.find((s) => s.workflowId === 'may-fail')
    expect(mayFail?.counts).toEqual({})
    expect(mayFail?.lastRun?.status).toBe('failed')
  })

  it('refuses a since that is neither a time nor a duration with 400 naming it', async () => {
    for (const since of ['yesterday', '2026-13-45', '12']) {
      const body = await expectError(
        await api.request(`/api/v1/stats/runs?since=${since}`),
        400,
        'VALIDATION',
      )
      expect(JSON.stringify(body.error.details)).toContain('since')
    }
  })
})

describe(`GET /api/v1/runs with since and until (${TEST_DB})`, () => {
  it('lists only the runs created in the window', async () => {
    const first = await runToEnd('never-run')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const second = await runToEnd('never-run')
    const ids = async (query: string) =>
      (await json<{ items: { id: string }[] }>(`/api/v1/runs?workflowId=never-run&${query}`)).items.map(
        (r) => r.id,
      )
    expect(await ids(`since=${encodeURIComponent(second.createdAt)}`)).toEqual([second.id])
    expect(await ids(`until=${encodeURIComponent(second.createdAt)}`)).toEqual([first.id])
    expect(await ids('since=1h')).toEqual([second.id, first.id])
    expect(await ids('until=1h')).toEqual([])
  })

  it('refuses a bad since or until with 400', async () => {
    await expectError(await api.request('/api/v1/runs?since=soon'), 400, 'VALIDATION')
    await expectError(await api.request('/api/v1/runs?until=2026-01-01T25:00:00Z'), 400, 'VALIDATION')
  })
})

describe(`GET /api/v1/runs/:id/logs?stepId= (${TEST_DB})`, () => {
  it("gives one step's lines only, paged by cursor", async () => {
    const run = await runToEnd('two-steps')
    expect(run.status).toBe('succeeded')
    type Lines = { items: { stepId: string; msg: string }[]; nextCursor: string | null }
    const page1 = await json<Lines>(`/api/v1/runs/${run.id}/logs?stepId=a&limit=2`)
    expect(page1.items.map((l) => l.msg)).toEqual(['a line 0', 'a line 1'])
    const page2 = await json<Lines>(`/api/v1/runs/${run.id}/logs?stepId=a&limit=2&cursor=${page1.nextCursor}`)
    expect(page2.items.map((l) => l.msg)).toEqual(['a line 2'])
    expect(page2.nextCursor).toBeNull()
    const b = await json<Lines>(`/api/v1/runs/${run.id}/logs?stepId=b`)
    expect(b.items.map((l) => [l.stepId, l.msg])).toEqual([
      ['b', 'b line 0'],
      ['b', 'b line 1'],
    ])
  })

  it('answers 404 for a step the run does not have', async () => {
    const run = await runToEnd('two-steps')
    await expectError(await api.request(`/api/v1/runs/${run.id}/logs?stepId=nope`), 404, 'NOT_FOUND')
  })
})

describe('the OpenAPI document', () => {
  it('describes the run counts, the time filter and the step filter of logs', async () => {
    const doc = await json<{
      paths: Record<string, Record<string, { operationId: string; parameters?: { name: string }[] }>>
    }>('/openapi.json')
    expect(doc.paths['/api/v1/stats/runs']?.get?.operationId).toBe('runStats')
    expect(doc.paths['/api/v1/stats/runs']?.get?.parameters?.map((p) => p.name)).toEqual(['since'])
    const list = doc.paths['/api/v1/runs']?.get?.parameters?.map((p) => p.name)
    expect(list).toEqual(expect.arrayContaining(['since', 'until']))
    const logs = doc.paths['/api/v1/runs/{id}/logs']?.get?.parameters?.map((p) => p.name)
    expect(logs).toEqual(expect.arrayContaining(['stepId', 'limit', 'cursor']))
  })
})
