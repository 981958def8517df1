// GET /api/v1/runs/:id/events: Server-Sent Events of a run, live, until it ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DB } from '../helpers/db.js'
import { createWorkflow, manual, runToEnd, startRun } from './api-client.js'
import { expectError } from './expect-error.js'
import { startServer, type TestServer } from './server.js'

let server: TestServer

beforeAll(async () => {
  server = await startServer()
  await createWorkflow(
    server,
    manual('events-delay', [
      { id: 'pause', uses: 'flow.delay', with: { for: '300ms' } },
      { id: 'first', uses: 'data.set', needs: ['pause'], with: { value: 1 } },
      { id: 'second', uses: 'data.set', needs: ['first'], with: { value: 2 } },
    ]),
  )
  await createWorkflow(
    server,
    manual('events-fast', [{ id: 'only', uses: 'data.set', with: { value: 'x' } }]),
  )
})

afterAll(async () => {
  await server?.stop()
})

interface SseEvent {
  event: string
  data: { id?: string; runId?: string; stepId?: string; status: string } & Record<string, unknown>
}

/** Reads the whole stream; fails when it has not ended within `timeoutMs`. */
async function readEvents(runId: string, timeoutMs = 10_000): Promise<{ res: Response; events: SseEvent[] }> {
  const signal = AbortSignal.timeout(timeoutMs)
  const res = await server.request(`/api/v1/runs/${runId}/events`, { signal })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  let text = ''
  const decoder = new TextDecoder()
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
      text += decoder.decode(chunk, { stream: true })
  } catch (error) {
    throw new Error(
      `the event stream of run ${runId} did not end within ${timeoutMs} ms; it sent:\n${text}`,
      {
        cause: error,
      },
    )
  }
  return { res, events: parseSse(text) }
}

function parseSse(text: string): SseEvent[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event = 'message'
      const data: string[] = []
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      return { event, data: JSON.parse(data.join('\n')) }
    })
}

const stepEvents = (events: SseEvent[], stepId: string) =>
  events.filter((e) => e.event === 'step' && e.data.stepId === stepId)

describe(`run events (${TEST_DB})`, () => {
  it('sends a snapshot, then the step events in order, and ends with the final status', async () => {
    const { id } = await startRun(server, 'events-delay')
    const { events } = await readEvents(id)
    const names = events.map((e) => `${e.event}:${e.data.stepId ?? ''}:${e.data.status}`)

    expect(events[0]?.event, names.join('\n')).toBe('snapshot')
    expect(events[0]?.data).toMatchObject({ id, workflowId: 'events-delay' })
    expect(['queued', 'running', 'waiting']).toContain(events[0]?.data.status)

    const last = events.at(-1)
    expect(last, names.join('\n')).toMatchObject({ event: 'run', data: { runId: id, status: 'succeeded' } })
    for (const e of events.slice(1)) expect(e.data.runId).toBe(id)

    // The delay outlasts the opening of the stream, so both data.set steps happen live.
    for (const stepId of ['first', 'second']) {
      expect(
        stepEvents(events, stepId).map((e) => e.data.status),
        names.join('\n'),
      ).toEqual(['running', 'succeeded'])
    }
    const at = (stepId: string, status: string) =>
      events.findIndex((e) => e.event === 'step' && e.data.stepId === stepId && e.data.status === status)
    expect(at('pause', 'succeeded')).toBeGreaterThan(0)
    expect(at('pause', 'succeeded')).toBeLessThan(at('first', 'running'))
    expect(at('first', 'succeeded')).toBeLessThan(at('second', 'running'))
    expect(at('second', 'succeeded')).toBeLessThan(events.length - 1)

    const runEvents = events.filter((e) => e.event === 'run').map((e) => e.data.status)
    expect(runEvents.filter((s) => s === 'succeeded')).toHaveLength(1)
    const stored = (await (await server.request(`/api/v1/runs/${id}`)).json()) as { status: string }
    expect(stored.status).toBe('succeeded')
  })

  it('sends only the snapshot and ends at once for a run that has ended', async () => {
    const run = await runToEnd(server, 'events-fast')
    const { events } = await readEvents(run.id, 5_000)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ event: 'snapshot', data: { id: run.id, status: 'succeeded' } })
  })

  it('ends even when the run ends while the stream is being opened', async () => {
    // A run of one data.set ends within milliseconds: the stream must not miss its end and hang.
    for (let i = 0; i < 20; i++) {
      const { id } = await startRun(server, 'events-fast')
      const { events } = await readEvents(id, 5_000)
      expect(events[0]?.event).toBe('snapshot')
      expect(events.at(-1)?.data.status, `run ${id}`).toBe('succeeded')
    }
  })

  it('answers 404 for the events of an unknown run', async () => {
    await expectError(await server.request('/api/v1/runs/no-such-run/events'), 404, 'NOT_FOUND')
  })
})
