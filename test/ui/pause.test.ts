// Pausing from the run monitor, in a real headless Chromium against a real `piecework serve`: the
// workflow page pauses it (the start form gives way to a note of the pause), the list marks it, the
// API refuses a start, and Resume brings the form back. Pressed with the keyboard; checked by axe.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'
import { HAVE_CHROMIUM, launch, openPage, pressWithKeyboard, seriousViolations } from './browser.js'
import { NOTE_CHILD } from './workflows.js'

describe.skipIf(!HAVE_CHROMIUM)(`pausing from the run monitor (${TEST_DB})`, () => {
  let server: ServeProcess
  let browser: Browser
  let page: Page
  let problems: string[]

  beforeAll(async () => {
    const port = await freePort()
    server = new ServeProcess(port, {
      ...serveEnv(port, await freshDatabaseUrl()),
      PIECEWORK_WORKERS_THREADS: '2',
    })
    ;[browser] = await Promise.all([launch(), server.start()])
    const res = await server.request('/api/v1/workflows', { json: NOTE_CHILD })
    expect(res.status, await res.clone().text()).toBe(201)
    ;({ page, problems } = await openPage(browser))
  })

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  const paused = async () => (await server.json<{ paused: boolean }>('/api/v1/workflows/note-child')).paused

  it('pauses the workflow from its page, which then shows the pause instead of the start form', async () => {
    await page.goto(`${server.url}/#/workflows/note-child`)
    await page.getByRole('button', { name: 'Start run' }).waitFor()
    await pressWithKeyboard(page, page.getByRole('button', { name: 'Pause' }))
    await page.getByRole('button', { name: 'Resume' }).waitFor()
    expect(await paused()).toBe(true)
    expect(await page.locator('.pause').textContent()).toContain('paused since')
    expect(await page.getByRole('button', { name: 'Start run' }).count()).toBe(0)
    const start = await server.request('/api/v1/workflows/note-child/runs', { json: { input: {} } })
    expect(start.status).toBe(409)
    expect(await seriousViolations(page)).toEqual([])
    expect(problems).toEqual([])
  })

  it('marks the paused workflow in the list', async () => {
    await page.goto(`${server.url}/`)
    const row = page.locator('tr', { has: page.locator('a', { hasText: /^note-child$/ }) })
    await expect.poll(() => row.textContent()).toMatch(/manual\s+paused/)
  })

  it('resumes it, and the start form comes back', async () => {
    await page.goto(`${server.url}/#/workflows/note-child`)
    await pressWithKeyboard(page, page.getByRole('button', { name: 'Resume' }))
    await page.getByRole('button', { name: 'Start run' }).waitFor()
    expect(await paused()).toBe(false)
    expect(await page.locator('.pause').textContent()).not.toContain('paused since')
    expect(problems).toEqual([])
  })
})
