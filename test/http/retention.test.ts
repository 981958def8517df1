// `piecework serve` with runs.retention: an ended run of a pruned status goes away on the timer,
// counted on /metrics and logged once; a run of a status without a rule stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DB } from '../helpers/db.js'
import { createWorkflow, getJson, manual, runToEnd } from './api-client.js'
import { startServer, type TestServer } from './server.js'

let server: TestServer

beforeAll(async () => {
  server = await startServer({
    env: {
      PIECEWORK_RUNS_RETENTION_SUCCEEDED_MAX_AGE: '0',
      PIECEWORK_RUNS_RETENTION_INTERVAL: '200ms',
      // an ended run is pruned once its lease has lapsed: at most this long after it ended
      PIECEWORK_RUNS_LEASE_TTL: '1s',
      PIECEWORK_LOG_LEVEL: 'info',
    },
  })
})

afterAll(async () => {
  await server?.stop()
})

describe(`runs.retention in piecework serve (${TEST_DB})`, () => {
  it('prunes succeeded runs on its timer, counts them on /metrics and logs the pass', async () => {
    await createWorkflow(server, manual('ok', [{ id: 'set', uses: 'data.set', with: { value: 1 } }]))
    await createWorkflow(
      server,
      manual('broken', [{ id: 'set', uses: 'data.set', with: { value: '{{ $nothing(1) }}' } }]),
    )
    const succeeded = await runToEnd(server, 'ok')
    const failed = await runToEnd(server, 'broken')
    expect([succeeded.status, failed.status]).toEqual(['succeeded', 'failed'])
    const deadline = Date.now() + 15_000
    while ((await server.request(`/api/v1/runs/${succeeded.id}`)).status !== 404) {
      if (Date.now() > deadline) throw new Error(`run ${succeeded.id} was not pruned:\n${server.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect((await getJson<{ status: string }>(server, `/api/v1/runs/${failed.id}`)).status).toBe('failed')
    const metrics = await (await server.request('/metrics')).text()
    expect(metrics).toContain('piecework_runs_pruned_total{status="succeeded"} 1')
    expect(metrics).toContain('piecework_runs_pruned_total{status="failed"} 0')
    // the pass is logged once it has ended: after the pause that follows its last batch
    const logged = () =>
      server
        .output()
        .split('\n')
        .filter((line) => line.includes('"runs pruned"'))
    while (logged().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    await new Promise((resolve) => setTimeout(resolve, 500)) // later passes delete nothing: no line
    const lines = logged()
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toMatchObject({ succeeded: 1, failed: 0, stepRows: 1 })
  })
})
