// The run monitor in a real headless Chromium against a real `piecework serve`: the workflow list,
// a workflow's graph, starting a run and watching it go green live, a failed run retried, a waiting
// run cancelled, an approval, the runs list, and the API key prompt. Controls are pressed with the
// keyboard; axe-core checks the pages the screenshots of docs/ui.md are taken of.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DB } from '../helpers/db.js'
import type { ServeProcess } from '../helpers/serve-process.js'
import {
  HAVE_CHROMIUM,
  openPage,
  postJson,
  pressWithKeyboard,
  screenshot,
  seriousViolations,
  startServerAndBrowser,
} from './browser.js'
import { APPROVAL, FLAKY, NOTE_CHILD, RETRYING, SHOP_ORDER, SLOW_LOGGER } from './workflows.js'

const KEY = 'ui-test-key-0123456789'

const startRun = (server: ServeProcess, workflowId: string, input: unknown, wait = '') =>
  postJson<{ id: string; status: string }>(
    server,
    `/api/v1/workflows/${workflowId}/runs${wait && `?wait=${wait}`}`,
    {
      input,
    },
  )

describe.skipIf(!HAVE_CHROMIUM)(`the run monitor in Chromium (${TEST_DB})`, () => {
  let server: ServeProcess
  let close: () => Promise<void>
  let page: Page
  let problems: string[]

  beforeAll(async () => {
    let browser: Browser
    ;({ server, browser, close } = await startServerAndBrowser({ PIECEWORK_WORKERS_THREADS: '2' }))
    for (const workflow of [NOTE_CHILD, SHOP_ORDER, FLAKY, APPROVAL, RETRYING, SLOW_LOGGER])
      await postJson(server, '/api/v1/workflows', workflow)
    ;({ page, problems } = await openPage(browser))
  })

  afterAll(async () => {
    await close?.()
  })

  const runStatus = () => page.locator('main .meta .badge').first()
  const node = (step: string) => page.locator(`.node[data-step="${step}"]`)

  it('lists the workflows with their trigger and version', async () => {
    await page.goto(`${server.url}/`)
    const rows = page.locator('table.list tbody tr')
    await expect.poll(() => rows.count()).toBe(6)
    const row = page.locator('tr', { has: page.locator('a', { hasText: /^shop-order$/ }) })
    expect(await row.innerText()).toMatch(/shop-order\s+Shop order\s+manual\s+1/)
    expect(await seriousViolations(page)).toEqual([])
    expect(problems).toEqual([])
  })

  it('opens a workflow and draws its graph with every step, marked by kind, and its YAML', async () => {
    await pressWithKeyboard(page, page.getByRole('link', { name: 'shop-order', exact: true }))
    await page.locator('.node').first().waitFor()
    const steps = await page
      .locator('.node')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-step')))
    expect(steps.sort()).toEqual(SHOP_ORDER.steps.map((s) => s.id).sort())
    expect(await node('lines').textContent()).toContain('forEach')
    expect(await node('note').textContent()).toContain('sub-workflow')
    expect(await node('pause').textContent()).toContain('delay')
    expect(await page.locator('.graph .handle').allTextContents()).toEqual(
      expect.arrayContaining(['true', 'false']),
    )
    await expect.poll(() => page.locator('pre.yaml').innerText()).toContain('id: shop-order')
    await screenshot(page, 'workflow')
    expect(await seriousViolations(page)).toEqual([])
    expect(problems).toEqual([])
  })

  it('refuses input that is not JSON, then starts a run whose steps turn green live', async () => {
    const input = page.getByLabel('Input (JSON)')
    await input.fill('{"lines": [')
    await expect.poll(() => page.locator('#run-input-problem').innerText()).toContain('not valid JSON')
    expect(await page.getByRole('button', { name: 'Start run' }).isDisabled()).toBe(true)
    await input.fill(
      JSON.stringify({
        lines: [
          { sku: 'pen', qty: 2, price: 1.5 },
          { sku: 'ink', qty: 1, price: 4 },
        ],
      }),
    )
    await pressWithKeyboard(page, page.getByRole('button', { name: 'Start run' }))
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/)
    await expect.poll(() => page.title()).toMatch(/^Run [0-9a-f]{8} · piecework$/)
    // a mark on the window: gone if the page were loaded again
    await page.evaluate('window.stillTheSamePage = true')
    await page
      .locator(
        '.node[data-step="pause"][data-status="waiting"], .node[data-step="pause"][data-status="running"]',
      )
      .waitFor()
    expect(await node('note').getAttribute('data-status')).toBe('pending')
    await screenshot(page, 'running-run')
    expect(await seriousViolations(page)).toEqual([])
    await page.locator('.node[data-step="note"][data-status="succeeded"]').waitFor({ timeout: 20_000 })
    for (const step of ['receive', 'lines', 'pause', 'check', 'auto', 'done', 'note'])
      expect(await node(step).getAttribute('data-status')).toBe('succeeded')
    expect(await node('review').getAttribute('data-status')).toBe('skipped')
    await expect.poll(() => runStatus().innerText()).toBe('succeeded')
    expect(await page.evaluate('window.stillTheSamePage')).toBe(true)
    expect(problems).toEqual([])
  })

  it("shows a failed run's error and logs, and retries it to success", async () => {
    const failUntil = Date.now() + 3_000
    const run = await startRun(server, 'flaky-check', { order: 'A-17', failUntil }, '30s')
    expect(run.status).toBe('failed')
    await page.goto(`${server.url}/#/runs/${run.id}`)
    const panel = page.getByRole('region', { name: 'Step check' })
    await expect
      .poll(() => panel.locator('.step-error').innerText())
      .toContain('the stock service is not ready')
    await expect.poll(() => panel.locator('.logs').innerText()).toContain('checking order A-17')
    expect(await node('check').getAttribute('data-status')).toBe('failed')
    // what the step was given: the run's input (it is a root step)
    expect(await panel.getByRole('region', { name: 'step input', exact: true }).innerText()).toContain('A-17')
    await screenshot(page, 'failed-run')
    expect(await seriousViolations(page)).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, failUntil - Date.now() + 100)))
    await pressWithKeyboard(page, page.getByRole('button', { name: 'Retry run' }))
    await expect.poll(() => page.locator('.actions [role=status]').innerText()).toContain('Retried')
    await page.locator('.node[data-step="done"][data-status="succeeded"]').waitFor({ timeout: 20_000 })
    await expect.poll(() => runStatus().innerText()).toBe('succeeded')
    expect(await node('check').getAttribute('data-status')).toBe('succeeded')
    expect(problems).toEqual([])
  })

  it('shows each failed attempt of a retried step, and the wait before the next, on the timeline', async () => {
    const run = await startRun(server, 'retrying', {}, '30s')
    expect(run.status).toBe('succeeded')
    await page.goto(`${server.url}/#/runs/${run.id}`)
    const row = page.locator('.timeline li[data-step="flaky"]')
    await expect.poll(() => row.locator('.timeline-wait').count()).toBe(2)
    expect(await row.locator('.timeline-note').innerText()).toMatch(
      /3 attempts \(CODE then \d+ ms, CODE then \d+ ms\)/,
    )
    expect(problems).toEqual([])
  })

  it("shows a running step's log lines as they come, before the step ends", async () => {
    const run = await startRun(server, 'slow-logger', {})
    await page.goto(`${server.url}/#/runs/${run.id}`)
    const panel = page.getByRole('region', { name: 'Step work' })
    await expect
      .poll(
        () =>
          panel
            .locator('.logs')
            .innerText()
            .catch(() => ''),
        { timeout: 10_000 },
      )
      .toContain('started the long part')
    expect(await node('work').getAttribute('data-status')).toBe('running')
    await page.locator('.node[data-step="work"][data-status="succeeded"]').waitFor({ timeout: 20_000 })
    await expect.poll(() => panel.locator('.logs').innerText()).toContain('done')
    expect(problems).toEqual([])
  })

  it('cancels a waiting run', async () => {
    const run = await startRun(server, 'approval', { amount: 120 })
    await page.goto(`${server.url}/#/runs/${run.id}`)
    await page.locator('.node[data-step="approval"][data-status="waiting"]').waitFor()
    await pressWithKeyboard(page, page.getByRole('button', { name: 'Cancel run' }))
    await expect.poll(() => page.locator('.actions [role=status]').innerText()).toContain('cancelled')
    await expect.poll(() => runStatus().innerText()).toBe('cancelled')
    await expect.poll(() => node('approval').getAttribute('data-status')).toBe('cancelled')
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0)
    expect(problems).toEqual([])
  })

  it('approves a waiting step from its panel and sees the run finish', async () => {
    const run = await startRun(server, 'approval', { amount: 80 })
    await page.goto(`${server.url}/#/runs/${run.id}`)
    const panel = page.getByRole('region', { name: 'Step approval' })
    await expect.poll(() => panel.innerText()).toContain('Waits for the signal approval')
    await pressWithKeyboard(page, panel.getByRole('button', { name: 'Approve' }))
    await page.locator('.node[data-step="finish"][data-status="succeeded"]').waitFor({ timeout: 20_000 })
    await expect.poll(() => runStatus().innerText()).toBe('succeeded')
    await expect
      .poll(() => page.locator('section[aria-label="Output"]').innerText())
      .toContain('"approved": true')
    expect(problems).toEqual([])
  })

  it('lists runs filtered by workflow and status, and shows a new run without reloading', async () => {
    await page.goto(`${server.url}/#/runs?workflowId=approval`)
    const rows = page.locator('table.runs tbody tr')
    await expect.poll(() => rows.count()).toBe(2)
    expect((await page.locator('table.runs tbody .badge').allInnerTexts()).sort()).toEqual([
      'cancelled',
      'succeeded',
    ])
    await page.getByLabel('Status').selectOption('cancelled')
    await expect.poll(() => rows.count()).toBe(1)
    await page.getByLabel('Status').selectOption('')
    const fresh = await startRun(server, 'approval', { amount: 1 })
    await page.locator(`tr[data-run="${fresh.id}"]`).waitFor({ timeout: 10_000 })
    expect(await rows.count()).toBe(3)
    expect(await seriousViolations(page)).toEqual([])
    expect(problems).toEqual([])
  })
})

describe.skipIf(!HAVE_CHROMIUM)(`the run monitor with API keys (${TEST_DB})`, () => {
  let server: ServeProcess
  let browser: Browser
  let close: () => Promise<void>

  beforeAll(async () => {
    ;({ server, browser, close } = await startServerAndBrowser({
      PIECEWORK_WORKERS_THREADS: '1',
      PIECEWORK_AUTH_API_KEYS: KEY,
    }))
    await postJson(server, '/api/v1/workflows', APPROVAL, KEY)
  })

  afterAll(async () => {
    await close?.()
  })

  it('asks for a key, refuses a wrong one, and lets the right one in for this tab only', async () => {
    const { page, problems } = await openPage(browser)
    await page.goto(`${server.url}/`)
    await page.getByRole('heading', { name: 'API key needed' }).waitFor()
    expect(await seriousViolations(page)).toEqual([])
    await page.getByLabel('API key').fill('not-the-key-0123456789')
    await pressWithKeyboard(page, page.getByRole('button', { name: 'Sign in' }))
    await expect.poll(() => page.locator('#key-problem').innerText()).toContain('The key was refused')
    expect(await page.evaluate("sessionStorage.getItem('piecework.apiKey')")).toBeNull()
    await page.getByLabel('API key').fill(KEY)
    await pressWithKeyboard(page, page.getByRole('button', { name: 'Sign in' }))
    await page.getByRole('link', { name: 'approval', exact: true }).waitFor()
    expect(page.url()).not.toContain(KEY)
    expect(await page.evaluate("sessionStorage.getItem('piecework.apiKey')")).toBe(KEY)
    expect(await page.evaluate('localStorage.length')).toBe(0)
    // the same tab keeps it across a reload; another tab (a new context) is asked again
    await page.reload()
    await page.getByRole('link', { name: 'approval', exact: true }).waitFor()
    const other = await openPage(browser)
    await other.page.goto(`${server.url}/#/workflows/approval`)
    await other.page.getByRole('heading', { name: 'API key needed' }).waitFor()
    expect([...problems, ...other.problems]).toEqual([])
    await other.page.context().close()
    await page.context().close()
  })
})
