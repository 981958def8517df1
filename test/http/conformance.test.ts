// Every conformance case through the HTTP API of a real `piecework serve`: create the workflow, start
// a run and wait for it, then read the run back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectable, expectedRun, loadCases } from '../helpers/cases.js'
import { TEST_DB } from '../helpers/db.js'
import { expectError } from './expect-error.js'
import { type RunBody, startServer, type TestServer } from './server.js'

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})

afterAll(async () => {
  await server?.stop()
})

describe(`conformance through the HTTP API (${TEST_DB})`, () => {
  loadCases().forEach((c, index) => {
    it(c.name, async () => {
      // An id of its own, so that no case can meet a workflow another case left behind.
      const id = `http-${index + 1}-${String(c.workflow.id)}`.slice(0, 63)
      // the workflows a case's workflow calls keep their ids (it calls them by id)
      for (const callee of c.workflows ?? []) {
        const res = await server.request('/api/v1/workflows', { json: callee })
        if (res.status === 409)
          await server.request(`/api/v1/workflows/${String(callee.id)}`, { method: 'PUT', json: callee })
        else expect(res.status, await res.clone().text()).toBe(201)
      }
      const created = await server.request('/api/v1/workflows', { json: { ...c.workflow, id } })
      if (c.expect.invalid) {
        const body = await expectError(created, 400, 'VALIDATION')
        const text = JSON.stringify(body).toLowerCase()
        for (const mention of c.expect.mentions ?? []) expect(text).toContain(String(mention).toLowerCase())
        expect(body.error.details?.length).toBeGreaterThan(0)
        return
      }
      expect(created.status, await created.clone().text()).toBe(201)
      const signals = c.signals ?? []
      const started = await server.request(
        `/api/v1/workflows/${id}/runs${signals.length ? '' : '?wait=60s'}`,
        {
          json: { input: c.input ?? {} },
        },
      )
      expect(started.status, await started.clone().text()).toBe(signals.length ? 202 : 200)
      const first = (await started.json()) as RunBody
      for (const signal of signals) {
        const sent = await server.request(`/api/v1/runs/${first.id}/signals/${signal.name}`, {
          json: { data: signal.data ?? null },
        })
        expect(sent.status, await sent.clone().text()).toBe(202)
      }
      const finished = signals.length
        ? ((await (await server.request(`/api/v1/runs/${first.id}?wait=60s`)).json()) as RunBody)
        : first
      const res = await server.request(`/api/v1/runs/${finished.id}`)
      expect(res.status).toBe(200)
      const run = (await res.json()) as RunBody
      expect(run).toEqual(finished)
      expect(run).toMatchObject({ workflowId: id, workflowVersion: 1 })
      expect(expectable(run)).toMatchObject(expectedRun(c))
    })
  })
})
