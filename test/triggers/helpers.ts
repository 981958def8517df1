// Helpers for the trigger and configuration tests: workflow files on disk, every run of a workflow,
// and a `piecework serve` child whose whole environment and arguments the test chooses.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { expect } from 'vitest'
import { stringify } from 'yaml'
import { ServeProcess, sleep } from '../helpers/serve-process.js'
import { getJson } from '../http/api-client.js'
import type { RunBody, TestServer } from '../http/server.js'

export { sleep }

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `piecework-${prefix}-`))

/** Writes `content` (YAML unless it is already text) to `dir/name`, making folders as needed. */
export function writeFile(dir: string, name: string, content: unknown): string {
  const path = join(dir, name)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, typeof content === 'string' ? content : stringify(content))
  return path
}

export interface RunSummary {
  id: string
  workflowId: string
  status: string
  createdAt: string
}

/** Every run of a workflow, newest first, through the paged list. */
export async function listAllRuns(server: TestServer, workflowId: string): Promise<RunSummary[]> {
  const runs: RunSummary[] = []
  let cursor: string | null = null
  do {
    const query: string = `workflowId=${workflowId}&limit=500${cursor ? `&cursor=${cursor}` : ''}`
    const page: { items: RunSummary[]; nextCursor: string | null } = await getJson(
      server,
      `/api/v1/runs?${query}`,
    )
    runs.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return runs
}

export async function countRuns(server: TestServer, workflowId: string): Promise<number> {
  return (await listAllRuns(server, workflowId)).length
}

/** Every run of a workflow in full (input, timestamps), oldest first. */
export async function fullRuns(server: TestServer, workflowId: string): Promise<RunBody[]> {
  const summaries = await listAllRuns(server, workflowId)
  const runs = await Promise.all(summaries.map((r) => getJson<RunBody>(server, `/api/v1/runs/${r.id}`)))
  return runs.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
}

/** Polls until `check` gives something other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(100)
  }
}

export type ServeChild = ServeProcess

/**
 * `piecework serve ...args` with exactly `env` (no PIECEWORK_* or PORT of ours), in an empty working
 * folder, once it answers /health on `port`.
 */
export async function spawnServe(
  args: string[],
  env: Record<string, string>,
  port: number,
): Promise<ServeChild> {
  const server = new ServeProcess(
    port,
    { PIECEWORK_WORKERS_THREADS: '2', PIECEWORK_LOG_LEVEL: 'warn', ...env },
    args,
  )
  await server.start(30_000)
  return server
}

/** True when nothing answers on the port. */
export async function nothingListens(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/health`).then(
    () => false,
    () => true,
  )
}

/** The start of the whole second an ISO time falls in, as epoch ms. */
export const floorSecond = (iso: string) => Math.floor(Date.parse(iso) / 1000) * 1000

export const WHOLE_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/

/** Checks that an exit was a refusal to start and gives its output. */
export function expectRefusal(result: { code: number | null; output: string }): string {
  expect(result.code, result.output).not.toBe(0)
  expect(result.code, result.output).not.toBeNull()
  return result.output
}
