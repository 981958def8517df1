// The error shape every failing answer of the API has: `{ error: { code, message, details? } }`.
import { expect } from 'vitest'
import type { ErrorBody } from './server.js'

/** Checks the status and the shape of an error answer, and gives its body. */
export async function expectError(res: Response, status: number, code?: string): Promise<ErrorBody> {
  const text = await res.text()
  expect(res.status, `${res.url} answered ${res.status}: ${text}`).toBe(status)
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/)
  const body = JSON.parse(text) as ErrorBody
  expect(Object.keys(body)).toEqual(['error'])
  expect(body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) })
  expect(body.error.message.length).toBeGreaterThan(0)
  for (const key of Object.keys(body.error)) expect(['code', 'message', 'details']).toContain(key)
  if (code !== undefined) expect(body.error.code).toBe(code)
  return body
}
