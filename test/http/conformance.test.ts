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
      const created = await server.request('/api/v1/workflows', { json: { ...c.workflow, id } })
      if (c.expect.invalid) {
        const body = await expectError(created, 400, 'VALIDATION')
        const text = JSON.stringify(body).toLowerCase()
        for (const mention of c.expect.mentions ?? []) expect(text).toContain(String(mention).toLowerCase())
        expect(body.error.details?.length).toBeGreaterThan(0)
        return
      }
      expect(created.status, await created.clone().text()).toBe(201)
      const started = await server.request(`/api/v1/workflows/${id}/runs?wait=60s`, {
        json: { input: c.input ?? {} },
      })
      expect(started.status, await started.clone().text()).toBe(200)
      const finished = (await started.json()) as RunBody
      const res = await server.request(`/api/v1/runs/${finished.id}`)
      expect(res.status).toBe(200)
      const run = (await res.json()) as RunBody
      expect(run).toEqual(finished)
      expect(run).toMatchObject({ workflowId: id, workflowVersion: 1 })
      expect(expectable(run)).toMatchObject(expectedRun(c))
    })
  })
})
