// The runs list stays fast with many runs: with 100,000 runs in the database, each page of
// GET /api/v1/runs (first, deep by cursor, filtered by workflow, status and time) is answered in
// at most 100 ms on the server (the median of five tries). The figures go to docs/performance.md.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DB } from '../helpers/db.js'
import { type InProcessApi, openInProcessApi } from './in-process.js'

const RUNS = 100_000
const STATUSES = ['succeeded', 'succeeded', 'succeeded', 'failed', 'cancelled', 'waiting'] as const
const BUDGET_MS = 100

let api: InProcessApi

beforeAll(async () => {
  api = await openInProcessApi()
  const now = Date.now()
  const knex = api.engine.db.knex
  for (let start = 0; start < RUNS; start += 1_000) {
    const rows = Array.from({ length: 1_000 }, (_, j) => {
      const i = start + j
      const created = now - Math.floor((i / RUNS) * 30 * 86_400_000) - (i % 7)
      return {
        id: randomUUID(),
        workflow_id: `wf-${i % 5}`,
        workflow_version: 1,
        status: STATUSES[i % STATUSES.length],
        input: '{}',
        output: null,
        error: null,
        created_at: created,
        started_at: created + 1,
        finished_at: created + 20,
      }
    })
    // SQLite takes at most 500 rows in one multi-row insert
    await knex.batchInsert('runs', rows, TEST_DB === 'postgres' ? 1_000 : 250)
  }
}, 300_000)

afterAll(async () => {
  await api?.close()
})

async function median(
  path: string,
): Promise<{ ms: number; body: { items: unknown[]; nextCursor: string | null } }> {
  const times: number[] = []
  let body = { items: [] as unknown[], nextCursor: null as string | null }
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const res = await api.request(path)
    body = (await res.json()) as typeof body
    times.push(performance.now() - t0)
    expect(res.status).toBe(200)
  }
  times.sort((a, b) => a - b)
  return { ms: times[2]!, body }
}

describe(`GET /api/v1/runs with ${RUNS.toLocaleString('en')} runs (${TEST_DB})`, () => {
  it(`answers every kind of page within ${BUDGET_MS} ms`, async () => {
    await api.request('/api/v1/runs?limit=50') // warm the statements
    const figures: Record<string, number> = {}
    const first = await median('/api/v1/runs?limit=50')
    figures['first page'] = first.ms
    expect(first.body.items).toHaveLength(50)
    let cursor = first.body.nextCursor
    for (let page = 2; page <= 20; page++)
      cursor = (await median(`/api/v1/runs?limit=50&cursor=${cursor}`)).body.nextCursor
    figures['page 21 (by cursor)'] = (await median(`/api/v1/runs?limit=50&cursor=${cursor}`)).ms
    figures['one workflow'] = (await median('/api/v1/runs?limit=50&workflowId=wf-3')).ms
    figures['one status (failed)'] = (await median('/api/v1/runs?limit=50&status=failed')).ms
    figures['workflow and status'] = (await median('/api/v1/runs?limit=50&workflowId=wf-3&status=waiting')).ms
    figures['since 24h'] = (await median('/api/v1/runs?limit=50&since=24h')).ms
    figures['a week, 3 weeks ago'] = (await median('/api/v1/runs?limit=50&since=21d&until=14d')).ms
    figures['stats of 24h'] = (await median('/api/v1/stats/runs?since=24h')).ms
    console.log(`runs list with ${RUNS} runs (${TEST_DB}), median ms:`, JSON.stringify(figures))
    for (const [what, ms] of Object.entries(figures)) expect(ms, what).toBeLessThanOrEqual(BUDGET_MS)
  })
})
