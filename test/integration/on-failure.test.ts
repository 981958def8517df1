// `onFailure` through real `piecework serve` processes: a failed run starts its handler workflow once,
// with the run's id, error and step as input; a run that succeeds or is cancelled starts none; each
// failure of a retried run starts its own; a missing handler is logged; and a process killed
// around the failure leaves exactly one handler run, whose id follows from the failure.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { childRunId } from '../../src/runtime/supervisor.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'
import { createWorkflow, getJson, manual, runToEnd, startRun } from '../http/api-client.js'
import {
  type RunBody,
  runBin,
  startServer,
  type TestServer,
  waitForRun,
  waitForStatus,
} from '../http/server.js'
import { eventually, fullRuns, listAllRuns, sleep } from '../triggers/helpers.js'

let server: TestServer

beforeAll(async () => {
  server = await startServer()
  await createWorkflow(
    server,
    manual('alert', [{ id: 'note', uses: 'data.set', with: { value: '{{ input }}' } }]),
  )
})

afterEach(({ task }) => {
  if (task.result?.state === 'fail') task.result.errors?.push({ message: server.output() } as never)
})

afterAll(async () => {
  await server?.stop()
})

const fail = (code = 'ORDER_BROKEN') => ({
  id: 'charge',
  uses: 'flow.fail',
  with: { code, message: 'the card was declined' },
})

/** The handler runs started for a failed run (their input names it), once `count` of them exist. */
async function handlerRuns(s: TestServer, failedRunId: string, count = 1): Promise<RunBody[]> {
  return eventually(async () => {
    const runs = (await fullRuns(s, 'alert')).filter(
      (r) => (r.input as { runId?: string }).runId === failedRunId,
    )
    return runs.length >= count && runs.every((r) => r.status === 'succeeded') ? runs : undefined
  }, `${count} handler run(s) of ${failedRunId}`)
}

describe(`onFailure (${TEST_DB})`, () => {
  it('starts the handler workflow with the failed run’s id, workflow, error and step', async () => {
    await createWorkflow(server, manual('charges', [fail()], { onFailure: 'alert' }))
    const run = await runToEnd(server, 'charges')
    expect(run.status).toBe('failed')
    const [handler] = await handlerRuns(server, run.id)
    expect(handler!.input).toEqual({
      runId: run.id,
      workflowId: 'charges',
      workflowVersion: 1,
      error: { code: 'ORDER_BROKEN', message: 'the card was declined' },
      stepId: 'charge',
    })
    // the handler's id follows from the failed run and the time it failed
    expect(handler!.id).toBe(childRunId(run.id, '$onFailure', Date.parse(run.finishedAt!), undefined, 0))
    const logs = await getJson<{ items: { msg: string }[] }>(server, `/api/v1/runs/${run.id}/logs`)
    expect(logs.items.map((l) => l.msg)).toContain(
      `onFailure: run ${handler!.id} of workflow 'alert' started`,
    )
  })

  it('starts nothing for a run that succeeds or is cancelled', async () => {
    await createWorkflow(
      server,
      manual('calm', [{ id: 'wait', uses: 'flow.delay', with: { for: '{{ input.for }}' } }], {
        onFailure: 'alert',
      }),
    )
    const ok = await runToEnd(server, 'calm', { for: '1ms' })
    expect(ok.status).toBe('succeeded')
    const long = await startRun(server, 'calm', { for: '10m' })
    await waitForStatus(server, long.id, 'waiting')
    expect((await server.request(`/api/v1/runs/${long.id}/cancel`, { method: 'POST' })).status).toBeLessThan(
      300,
    )
    await waitForRun(server, long.id)
    await sleep(1500)
    const handled = (await fullRuns(server, 'alert')).map((r) => (r.input as { runId: string }).runId)
    expect(handled).not.toContain(ok.id)
    expect(handled).not.toContain(long.id)
  })

  it('starts one handler run per failure when a failed run is retried and fails again', async () => {
    await createWorkflow(server, manual('retried', [fail('AGAIN')], { onFailure: 'alert' }))
    const run = await runToEnd(server, 'retried')
    await handlerRuns(server, run.id, 1)
    const retry = await server.request(`/api/v1/runs/${run.id}/retry`, { method: 'POST' })
    expect(retry.status, await retry.clone().text()).toBeLessThan(300)
    await eventually(async () => {
      const again = await getJson<RunBody>(server, `/api/v1/runs/${run.id}`)
      return again.status === 'failed' && again.finishedAt !== run.finishedAt ? again : undefined
    }, 'the retried run to fail again')
    const handlers = await handlerRuns(server, run.id, 2)
    expect(new Set(handlers.map((h) => h.id)).size).toBe(2)
  })

  it('logs, and starts nothing, when the handler workflow does not exist', async () => {
    await createWorkflow(server, manual('orphaned', [fail()], { onFailure: 'not-deployed' }))
    const run = await runToEnd(server, 'orphaned')
    expect(run.status).toBe('failed')
    const logs = await getJson<{ items: { level: string; msg: string }[] }>(
      server,
      `/api/v1/runs/${run.id}/logs`,
    )
    expect(logs.items).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: "onFailure: workflow 'not-deployed' not started: it does not exist",
      }),
    )
  })

  it('refuses a workflow whose onFailure names itself', async () => {
    const res = await server.request('/api/v1/workflows', {
      json: manual('selfish', [fail()], { onFailure: 'selfish' }),
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({
      error: { details: [{ path: 'onFailure', message: expect.stringContaining('another workflow') }] },
    })
  })
})

describe(`onFailure across a crash (${TEST_DB})`, () => {
  it('leaves exactly one handler run when the process is killed before and right after the run fails', async () => {
    const port = await freePort()
    const crashing = new ServeProcess(port, {
      ...serveEnv(port, await freshDatabaseUrl()),
      PIECEWORK_WORKERS_THREADS: '2',
      PIECEWORK_RUNS_LEASE_TTL: '2s',
      PIECEWORK_RUNS_POLL_INTERVAL: '200ms',
    })
    await crashing.start(30_000)
    try {
      await createWorkflow(
        crashing,
        manual('alert', [{ id: 'slow', uses: 'flow.delay', with: { for: '300ms' } }]),
      )
      await createWorkflow(
        crashing,
        manual(
          'doomed',
          [
            { id: 'first', uses: 'flow.delay', with: { for: '1s' } },
            { ...fail(), needs: 'first' },
          ],
          {
            onFailure: 'alert',
          },
        ),
      )
      const { id } = await startRun(crashing, 'doomed')
      // killed while the run waits, before it fails
      await waitForStatus(crashing, id, 'waiting')
      await crashing.kill()
      await crashing.start(30_000)
      // killed again the moment the failure is stored, with the handler queued or under way
      const failed = await waitForStatus(crashing, id, 'failed')
      await crashing.kill()
      await crashing.start(30_000)
      const handlers = await handlerRuns(crashing, id, 1)
      await sleep(1000)
      const all = (await listAllRuns(crashing, 'alert')).length
      expect(all).toBe(1)
      expect(handlers[0]!.id).toBe(childRunId(id, '$onFailure', Date.parse(failed.finishedAt!), undefined, 0))
    } finally {
      await crashing.stop().catch(() => {})
    }
  })
})

describe('piecework validate', () => {
  it('warns of an onFailure naming a workflow none of the checked files defines, and still exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'piecework-validate-'))
    writeFileSync(join(dir, 'charges.yaml'), stringify(manual('charges', [fail()], { onFailure: 'pager' })))
    writeFileSync(join(dir, 'watched.yaml'), stringify(manual('watched', [fail()], { onFailure: 'charges' })))
    const { code, output } = await runBin(['validate', dir], {})
    expect(code, output).toBe(0)
    const warnings = output.split('\n').filter((line) => line.startsWith('warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain("onFailure names workflow 'pager'")
    expect(warnings[0]).toContain('charges.yaml')
  })
})
