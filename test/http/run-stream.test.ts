// A run's event stream beyond its steps: log lines as events with ids, resuming with Last-Event-ID,
// keep-alive comments on a quiet stream, and (PostgreSQL) the events of a run another process holds.
import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.js'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { step, workflow } from '../integration/workflows.js'

interface SseEvent {
  event: string
  id?: string
  comment?: string
  data?: { runId?: string; stepId?: string | null; status?: string; msg?: string } & Record<string, unknown>
}

function parseSse(text: string): SseEvent[] {
  return text
    .split(/\n\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const out: SseEvent = { event: 'message' }
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) out.comment = line.slice(1).trim()
        else if (line.startsWith('event:')) out.event = line.slice(6).trim()
        else if (line.startsWith('id:')) out.id = line.slice(3).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      if (data.length > 0) out.data = JSON.parse(data.join('\n'))
      else out.event = 'comment'
      return out
    })
}

/** Reads the stream until it ends, or until `until` says enough (then it is closed). */
async function readStream(
  app: Hono,
  runId: string,
  options: { headers?: Record<string, string>; until?: (events: SseEvent[]) => boolean; ms?: number } = {},
): Promise<SseEvent[]> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), options.ms ?? 15_000)
  const res = await app.request(`/api/v1/runs/${runId}/events`, {
    headers: options.headers,
    signal: abort.signal,
  })
  expect(res.status).toBe(200)
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
      if (options.until?.(parseSse(text))) break
    }
  } catch (error) {
    throw new Error(`the stream of run ${runId} did not end in time; it sent:\n${text}`, { cause: error })
  } finally {
    clearTimeout(timer)
    await reader.cancel().catch(() => {})
  }
  return parseSse(text)
}

const LOGGING = `for (let i = 0; i < 5; i++) console.log('line ' + i); return 1`

function appOf(engine: Engine, events: { keepAliveMs?: number; pollMs?: number } = {}): Hono {
  return createApp(engine, { apiKeys: [], bodyLimit: 1 << 20, events, report: (e) => console.error(e) })
}

describe(`a run's event stream (${TEST_DB})`, () => {
  let engine: Engine
  let app: Hono
  beforeAll(async () => {
    engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
    await engine.start()
    app = appOf(engine, { keepAliveMs: 100 })
  })
  afterAll(async () => {
    await engine?.close(1_000)
  })

  it('sends each log line as an event whose id is the line id, in order', async () => {
    const { workflow: wf } = await engine.deploy(
      workflow('logs', [
        step('pause', 'flow.delay', { for: '200ms' }),
        step('talk', 'code.run', { code: LOGGING }, { needs: ['pause'] }),
      ]),
    )
    const { id } = await engine.startRun(wf.id, {})
    const events = await readStream(app, id)
    const logs = events.filter((e) => e.event === 'log')
    expect(logs.map((e) => e.data?.msg)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4'])
    expect(logs.every((e) => e.data?.stepId === 'talk' && e.data?.runId === id)).toBe(true)
    const ids = logs.map((e) => Number(e.id))
    expect(ids.every((n, i) => n > 0 && (i === 0 || n > ids[i - 1]!))).toBe(true)
    expect(events.at(-1)).toMatchObject({ event: 'run', data: { status: 'succeeded' } })
  })

  it('resumes after Last-Event-ID with a fresh snapshot and only the lines not seen', async () => {
    const { workflow: wf } = await engine.deploy(
      workflow('resume', [step('talk', 'code.run', { code: LOGGING })]),
    )
    const run = await engine.getRun((await engine.startRun(wf.id, {})).id, 10_000)
    const all = await readStream(app, run.id)
    const logs = all.filter((e) => e.event === 'log')
    expect(logs).toHaveLength(5)
    const again = await readStream(app, run.id, { headers: { 'last-event-id': logs[1]!.id! } })
    expect(again[0]).toMatchObject({ event: 'snapshot', data: { id: run.id, status: 'succeeded' } })
    expect(again.filter((e) => e.event === 'log').map((e) => e.data?.msg)).toEqual([
      'line 2',
      'line 3',
      'line 4',
    ])
  })

  it('refuses a Last-Event-ID it did not send with 400', async () => {
    const { workflow: wf } = await engine.deploy(workflow('bad-id', [step('a', 'data.set', { value: 1 })]))
    const run = await engine.getRun((await engine.startRun(wf.id, {})).id, 10_000)
    const res = await app.request(`/api/v1/runs/${run.id}/events`, { headers: { 'last-event-id': 'abc' } })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Last-Event-ID/)
  })

  it('keeps a quiet stream open with comment lines, then ends with the run', async () => {
    const { workflow: wf } = await engine.deploy(
      workflow('quiet', [step('hold', 'flow.wait', { signal: 'go' })], {}),
    )
    const { id } = await engine.startRun(wf.id, {})
    const stream = readStream(app, id, { ms: 10_000 })
    await new Promise((resolve) => setTimeout(resolve, 450))
    await engine.signal(id, 'go', { ok: true })
    const events = await stream
    expect(
      events.filter((e) => e.event === 'comment' && e.comment === 'keep-alive').length,
    ).toBeGreaterThanOrEqual(2)
    expect(events.at(-1)).toMatchObject({ event: 'run', data: { status: 'succeeded' } })
  })
})

describe.runIf(TEST_DB === 'postgres')('the event stream of a run another process holds (postgres)', () => {
  let a: Engine
  let b: Engine
  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl()
    const options = { databaseUrl, threads: 1, pollMs: 100, passivateAfterMs: 600_000 }
    a = await Engine.open(options)
    b = await Engine.open(options)
    await a.start()
    await b.start()
  })
  afterAll(async () => {
    await a?.close(1_000)
    await b?.close(1_000)
  })

  it('follows its steps, logs and end through the holder’s notices, without polling', async () => {
    const { workflow: wf } = await a.deploy(
      workflow('elsewhere', [
        step('hold', 'flow.wait', { signal: 'go' }),
        step('talk', 'code.run', { code: LOGGING }, { needs: ['hold'] }),
      ]),
    )
    const { id } = await a.startRun(wf.id, {})
    for (let i = 0; i < 100 && (await a.getRun(id)).status !== 'waiting'; i++)
      await new Promise((r) => setTimeout(r, 20))
    expect(a.holds(id)).toBe(true)
    expect(b.holds(id)).toBe(false)
    // b never reads the run again by itself: every event after the snapshot comes from a's notices
    const stream = readStream(appOf(b, { pollMs: 600_000 }), id, { ms: 20_000 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await a.signal(id, 'go', {})
    const events = await stream
    expect(events[0]).toMatchObject({ event: 'snapshot', data: { status: 'waiting' } })
    const talk = events.filter((e) => e.event === 'step' && e.data?.stepId === 'talk')
    expect(talk.at(-1)?.data?.status).toBe('succeeded')
    expect(events.filter((e) => e.event === 'log').map((e) => e.data?.msg)).toEqual([
      'line 0',
      'line 1',
      'line 2',
      'line 3',
      'line 4',
    ])
    expect(events.at(-1)).toMatchObject({ event: 'run', data: { status: 'succeeded' } })
  })
})
