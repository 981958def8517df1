// docs/pieces.md's worked example, run as a reader would run it: its piece block saved as
// pieces-extra/text/index.js and its test block as text.test.js, in a project of its own that has
// piecework, valibot and vitest installed (here as links to this checkout), then `vitest run` there.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { ROOT } from '../helpers/cases.js'

const exec = promisify(execFile)
const TEST = '// text.test.js (vitest)'
const PIECE = '// pieces-extra/text/index.js'

/** The code block of the page that opens with `first`. */
function block(page: string, first: string): string {
  const start = page.indexOf(first)
  expect(start, `docs/pieces.md has no block that opens with ${first}`).toBeGreaterThan(0)
  return page.slice(start, page.indexOf('```', start))
}

it("runs the piece and the piece test of docs/pieces.md in a project of the reader's: the tests pass", async () => {
  const page = readFileSync(join(ROOT, 'docs/pieces.md'), 'utf8')
  const project = mkdtempSync(join(tmpdir(), 'piecework-piece-test-'))
  mkdirSync(join(project, 'node_modules'))
  mkdirSync(join(project, 'pieces-extra', 'text'), { recursive: true })
  symlinkSync(ROOT, join(project, 'node_modules', 'piecework'))
  for (const name of ['vitest', 'valibot'])
    symlinkSync(join(ROOT, 'node_modules', name), join(project, 'node_modules', name))
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }))
  writeFileSync(join(project, 'pieces-extra', 'text', 'index.js'), block(page, PIECE))
  writeFileSync(join(project, 'text.test.js'), block(page, TEST))
  const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs')
  const { stdout } = await exec(process.execPath, [vitest, 'run', '--root', project], {
    cwd: project,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    timeout: 60_000,
  })
  expect(stdout).toMatch(/Tests\s+2 passed \(2\)/)
})
