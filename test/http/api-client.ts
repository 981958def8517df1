// Small helpers over a TestServer: workflow definitions, creating them and starting runs.
import { expect } from 'vitest'
import type { RunBody, TestServer } from './server.js'

export type Step = Record<string, unknown> & { id: string; uses: string }

/** A workflow with a manual trigger. */
export function manual(id: string, steps: Step[], extra: Record<string, unknown> = {}) {
  return { id, trigger: { uses: 'manual' }, steps, ...extra }
}

export interface WorkflowBody {
  id: string
  name: string | null
  version: number
  triggerKind: string
  definition: { id: string; steps: Step[] } & Record<string, unknown>
  createdAt: string
  updatedAt: string
}

export async function createWorkflow(server: TestServer, definition: unknown): Promise<WorkflowBody> {
  const res = await server.request('/api/v1/workflows', { json: definition })
  expect(res.status, await res.clone().text()).toBe(201)
  return (await res.json()) as WorkflowBody
}

/** Starts a run without waiting: the 202 answer. */
export async function startRun(server: TestServer, workflowId: string, input: unknown = {}) {
  const res = await server.request(`/api/v1/workflows/${workflowId}/runs`, { json: { input } })
  expect(res.status, await res.clone().text()).toBe(202)
  return (await res.json()) as { id: string; status: string }
}

/** Starts a run and waits for it to end: the 200 answer. */
export async function runToEnd(server: TestServer, workflowId: string, input: unknown = {}) {
  const res = await server.request(`/api/v1/workflows/${workflowId}/runs?wait=30s`, { json: { input } })
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as RunBody
}

export async function getJson<T>(server: TestServer, path: string, status = 200): Promise<T> {
  const res = await server.request(path)
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(status)
  return (await res.json()) as T
}

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
