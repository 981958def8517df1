// Debian's Chromium driven by playwright-core for the run monitor's tests: finding it (the tests
// skip, saying why, when it is absent), the accessibility check with axe-core in the page, pressing
// controls with the keyboard, and the screenshots that docs/ui.md shows.
import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium, type Locator, type Page } from 'playwright-core'
import { ROOT } from '../helpers/cases.js'
import { freshDatabaseUrl } from '../helpers/db.js'
import { freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

export const CHROMIUM = process.env.PIECEWORK_TEST_CHROMIUM ?? '/usr/bin/chromium'
export const HAVE_CHROMIUM = isExecutable(CHROMIUM)
if (!HAVE_CHROMIUM)
  console.warn(
    `the UI tests are skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium installs it)`,
  )

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
}

/** A `piecework serve` child on a fresh database (with `env` added) and a Chromium, started together. */
export async function startServerAndBrowser(env: Record<string, string> = {}) {
  const port = await freePort()
  const server = new ServeProcess(port, { ...serveEnv(port, await freshDatabaseUrl()), ...env })
  const [browser] = await Promise.all([launch(), server.start()])
  return {
    server,
    browser,
    close: async () => {
      await browser.close()
      await server.stop()
    },
  }
}

/** POSTs JSON to the server and gives the answer's JSON; an answer of 300 or more throws, with its body. */
export async function postJson<T = unknown>(
  server: ServeProcess,
  path: string,
  body: unknown,
  key?: string,
): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${text}`)
  return JSON.parse(text) as T
}

/** A page that records what its scripts report: errors fail the tests that check `problems`. */
export async function openPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    // a 401 is how the UI learns it needs a key; a 4xx the tests provoke is shown, not a fault
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) problems.push(message.text())
  })
  return { page, problems }
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: { target: string[] }[]
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  await page.evaluate(axeSource)
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: Violation[]
  }
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ ...v, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target })) }))
}

/** What the functions evaluated in the page see of it (the tests are type-checked without the DOM). */
interface InPage {
  document: { activeElement: unknown }
}

/**
 * Moves the focus with Tab from the top of the page until `target` has it, then presses Enter:
 * what the tests press this way can be reached and used with the keyboard alone.
 */
export async function pressWithKeyboard(page: Page, target: Locator, maxTabs = 150): Promise<void> {
  const handle = await target.elementHandle()
  if (!handle) throw new Error('no such element to press')
  await page.evaluate('document.activeElement && document.activeElement.blur()')
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab')
    if (await handle.evaluate((el) => el === (globalThis as unknown as InPage).document.activeElement)) {
      await page.keyboard.press('Enter')
      return
    }
  }
  throw new Error(`${target} was not reached within ${maxTabs} presses of Tab`)
}

/**
 * Takes a screenshot: into docs/ui/<name>.png, the screenshots docs/ui.md shows, when
 * PIECEWORK_UPDATE_SCREENSHOTS=1; else into a temporary folder, so that a test run leaves the
 * tracked files as they were.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir =
    process.env.PIECEWORK_UPDATE_SCREENSHOTS === '1'
      ? join(ROOT, 'docs/ui')
      : join(tmpdir(), 'piecework-ui-screenshots')
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false })
}
