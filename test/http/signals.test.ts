// Signals over real HTTP: to one run, broadcast by key, and through the signed links of
// `$signalUrl`; the items of a `forEach` step page by page; `piecework validate` warning of a
// sub-workflow none of the checked files defines.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { TEST_DB } from '../helpers/db.js'
import { createWorkflow, getJson, ISO, manual, runToEnd, startRun } from './api-client.js'
import { expectError } from './expect-error.js'
import { type RunBody, runBin, startServer, type TestServer, waitForRun, waitForStatus } from './server.js'

type WaitingStep = RunBody['steps'][number] & {
  waitingFor?: { signal: string; key?: unknown; until?: string }
}

let server: TestServer

/** Makes its link first, then waits for `approval`; the run's output is the signal's data. */
const linked = manual('signals-linked', [
  { id: 'link', uses: 'data.set', with: { value: { url: "{{ $signalUrl('approval') }}" } } },
  { id: 'approval', uses: 'flow.wait', needs: ['link'], with: { signal: 'approval', timeout: '30s' } },
  { id: 'done', uses: 'data.set', needs: ['approval'], with: { value: '{{ input }}' } },
])

/** Waits for `approval` with the run's order as the key a broadcast must carry. */
const keyed = manual('signals-keyed', [
  {
    id: 'approval',
    uses: 'flow.wait',
    with: { signal: 'approval', key: '{{ input.order }}', timeout: '30s' },
  },
  { id: 'done', uses: 'data.set', needs: ['approval'], with: { value: '{{ input }}' } },
])

/** The signal arrives while the delay still runs: it is buffered, then taken by the wait. */
const delayed = manual('signals-delayed', [
  { id: 'pause', uses: 'flow.delay', with: { for: '300ms' } },
  { id: 'approval', uses: 'flow.wait', needs: ['pause'], with: { signal: 'approval', timeout: '30s' } },
  { id: 'done', uses: 'data.set', needs: ['approval'], with: { value: '{{ input }}' } },
])

const quick = manual('signals-quick', [{ id: 'only', uses: 'data.set', with: { value: 1 } }])

const each = manual('signals-each', [
  { id: 'each', uses: 'data.set', forEach: '{{ [0..24] }}', with: { value: '{{ item * 10 }}' } },
])

beforeAll(async () => {
  server = await startServer({
    env: { PIECEWORK_SERVER_SIGNING_KEY: 'a-signing-key-for-tests-only-0123456789' },
  })
  for (const definition of [linked, keyed, delayed, quick, each]) await createWorkflow(server, definition)
})

afterAll(async () => {
  await server?.stop()
})

const signal = (runId: string, name: string, body: unknown) =>
  server.request(`/api/v1/runs/${runId}/signals/${name}`, { json: body })

const broadcast = (name: string, body: unknown) => server.request(`/api/v1/signals/${name}`, { json: body })

const stepOf = (run: RunBody, id: string) => run.steps.find((s) => s.id === id) as WaitingStep

/** Starts a run of `signals-linked`, waits until it waits, and gives it with its link. */
async function waitingLinkedRun(): Promise<{ id: string; url: string }> {
  const { id } = await startRun(server, 'signals-linked')
  const run = await waitForStatus(server, id, 'waiting')
  return { id, url: (stepOf(run, 'link').output as { url: string }).url }
}

describe(`signals to one run (${TEST_DB})`, () => {
  it('answers 404 for a run that does not exist', async () => {
    await expectError(await signal('no-such-run', 'approval', { data: 1 }), 404, 'NOT_FOUND')
  })

  it('answers 409 once the run has ended', async () => {
    const run = await runToEnd(server, 'signals-quick')
    await expectError(await signal(run.id, 'approval', { data: 1 }), 409, 'CONFLICT')
  })

  it('buffers a signal no step waits for yet ({ taken: null }) and lets the wait take it later', async () => {
    const { id } = await startRun(server, 'signals-delayed')
    const res = await signal(id, 'approval', { data: { approved: true } })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ taken: null })
    const run = await waitForRun(server, id)
    expect(run).toMatchObject({ status: 'succeeded', output: { approved: true } })
    expect(stepOf(run, 'approval')).toMatchObject({ status: 'succeeded', output: { approved: true } })
  })

  it('shows on the run record what a waiting step waits for', async () => {
    const { id } = await startRun(server, 'signals-keyed', { order: 'W-1' })
    const run = await waitForStatus(server, id, 'waiting')
    expect(stepOf(run, 'approval')).toMatchObject({
      status: 'waiting',
      waitingFor: { signal: 'approval', key: 'W-1', until: expect.stringMatching(ISO) },
    })
    const res = await signal(id, 'approval', { data: 'ok' })
    expect(await res.json()).toEqual({ taken: 'approval' })
    expect(await waitForRun(server, id)).toMatchObject({ status: 'succeeded', output: 'ok' })
  })
})

describe(`broadcast signals (${TEST_DB})`, () => {
  it('reaches only the runs whose waiting step has the same key, and counts them', async () => {
    const runs = await Promise.all(
      ['B-1', 'B-1', 'B-2'].map((order) => startRun(server, 'signals-keyed', { order })),
    )
    for (const { id } of runs) await waitForStatus(server, id, 'waiting')
    const res = await broadcast('approval', { key: 'B-1', data: { by: 'broadcast' } })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ delivered: 2 })
    for (const { id } of runs.slice(0, 2))
      expect(await waitForRun(server, id)).toMatchObject({ status: 'succeeded', output: { by: 'broadcast' } })
    // neither another key nor no key reaches the third; nothing was buffered for it either
    expect(await (await broadcast('approval', { key: 'B-3', data: 1 })).json()).toEqual({ delivered: 0 })
    expect(await (await broadcast('approval', { data: 1 })).json()).toEqual({ delivered: 0 })
    const third = await getJson<RunBody>(server, `/api/v1/runs/${runs[2]!.id}`)
    expect(third.status).toBe('waiting')
    expect(await (await broadcast('approval', { key: 'B-2', data: 2 })).json()).toEqual({ delivered: 1 })
    expect(await waitForRun(server, runs[2]!.id)).toMatchObject({ status: 'succeeded', output: 2 })
  })

  it('refuses a body with fields it does not know, and a bad signal name', async () => {
    await expectError(await broadcast('approval', { key: 1, extra: true }), 400, 'VALIDATION')
    await expectError(await broadcast('no spaces', { key: 1 }), 400, 'VALIDATION')
  })
})

describe(`signed signal links (${TEST_DB})`, () => {
  it('gives a link under the public URL; GET shows a page with a form and delivers nothing', async () => {
    const { id, url } = await waitingLinkedRun()
    expect(url.startsWith(`${server.url}/signals/`)).toBe(true)
    const res = await fetch(url)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const html = await res.text()
    expect(html).toMatch(/<form method="post">/)
    expect(html).toContain('approval')
    const run = await getJson<RunBody>(server, `/api/v1/runs/${id}`)
    expect(stepOf(run, 'approval')).toMatchObject({ status: 'waiting', waitingFor: { signal: 'approval' } })
    await server.request(`/api/v1/runs/${id}/cancel`, { method: 'POST' })
  })

  it('delivers a POSTed JSON body as the data, then answers 409 once the run has ended', async () => {
    const { id, url } = await waitingLinkedRun()
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ approved: true }),
    })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ taken: 'approval' })
    expect(await waitForRun(server, id)).toMatchObject({ status: 'succeeded', output: { approved: true } })
    await expectError(await server.request(url.slice(server.url.length), { json: {} }), 409, 'CONFLICT')
    await expectError(await fetch(url), 409, 'CONFLICT')
  })

  it('delivers the fields of a form post and answers with a page', async () => {
    const { id, url } = await waitingLinkedRun()
    const form = (body: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
    await expectError(await form('note=%00'), 400, 'VALIDATION')
    const res = await form('approved=yes&by=ada')
    expect(res.status).toBe(202)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await waitForRun(server, id)).toMatchObject({
      status: 'succeeded',
      output: { approved: 'yes', by: 'ada' },
    })
  })

  it('answers 403 for a tampered or foreign token and delivers nothing', async () => {
    const { id, url } = await waitingLinkedRun()
    const other = await waitingLinkedRun()
    const [payload, signature] = url.slice(url.lastIndexOf('/') + 1).split('.') as [string, string]
    const otherPayload = other.url.slice(other.url.lastIndexOf('/') + 1).split('.')[0]!
    const flipped = signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))
    const forged = [
      `${payload}.${flipped}`,
      `${otherPayload}.${signature}`,
      `${Buffer.from(JSON.stringify([id, 'other'])).toString('base64url')}.${signature}`,
      payload,
      'not-a-token',
    ]
    for (const token of forged) {
      const path = `/signals/${token}`
      await expectError(await server.request(path, { json: { approved: true } }), 403, 'FORBIDDEN')
      await expectError(await server.request(path), 403, 'FORBIDDEN')
    }
    for (const runId of [id, other.id]) {
      const run = await getJson<RunBody>(server, `/api/v1/runs/${runId}`)
      expect(run.status).toBe('waiting')
      await server.request(`/api/v1/runs/${runId}/cancel`, { method: 'POST' })
    }
  })

  it('fails the expression when no signing key is configured (piecework run)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'piecework-signals-'))
    writeFileSync(join(dir, 'linked.yaml'), stringify(linked))
    const { code, output } = await runBin(['run', join(dir, 'linked.yaml')], {})
    expect(code).toBe(1)
    expect(output).toContain('server.signingKey')
  })
})

describe(`forEach items (${TEST_DB})`, () => {
  it('lists the 25 items of a step in order, page by page with a cursor', async () => {
    const run = await runToEnd(server, 'signals-each')
    const seen: { index: number; status: string; output: unknown }[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = cursor ? `?limit=10&cursor=${encodeURIComponent(cursor)}` : '?limit=10'
      const page = await getJson<{ items: typeof seen; nextCursor: string | null }>(
        server,
        `/api/v1/runs/${run.id}/steps/each/items${query}`,
      )
      seen.push(...page.items)
      cursor = page.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen.map((item) => item.index)).toEqual([...Array(25).keys()])
    expect(seen[24]).toMatchObject({ status: 'succeeded', output: 240 })
    await expectError(await server.request(`/api/v1/runs/${run.id}/steps/none/items`), 404, 'NOT_FOUND')
  })
})

describe(`the OpenAPI document (${TEST_DB})`, () => {
  it('lists the signal, broadcast, link and items routes', async () => {
    const doc = await getJson<{ paths: Record<string, Record<string, unknown>> }>(server, '/openapi.json')
    expect(doc.paths['/api/v1/runs/{id}/signals/{name}']).toHaveProperty('post')
    expect(doc.paths['/api/v1/signals/{name}']).toHaveProperty('post')
    expect(doc.paths['/signals/{token}']).toHaveProperty('get')
    expect(doc.paths['/signals/{token}']).toHaveProperty('post')
    expect(doc.paths['/api/v1/runs/{id}/steps/{stepId}/items']).toHaveProperty('get')
    const run = doc.paths['/api/v1/runs/{id}']!.get as { parameters: { name: string }[] }
    expect(run.parameters.map((p) => p.name)).toContain('wait')
  })
})

describe('piecework validate', () => {
  it('warns of a workflow.run naming a workflow none of the checked files defines, and still exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'piecework-validate-'))
    const call = (id: string, workflow: string) => ({ id, uses: 'workflow.run', with: { workflow } })
    writeFileSync(
      join(dir, 'parent.yaml'),
      stringify(
        manual('parent', [
          call('known', 'child'),
          call('unknown', 'deployed-elsewhere'),
          call('computed', '{{ input.which }}'),
        ]),
      ),
    )
    writeFileSync(join(dir, 'child.yaml'), stringify(manual('child', quick.steps)))
    const { code, output } = await runBin(['validate', dir], {})
    expect(code, output).toBe(0)
    const warnings = output.split('\n').filter((line) => line.startsWith('warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain("'deployed-elsewhere'")
    expect(warnings[0]).toContain('parent.yaml')
  })
})
