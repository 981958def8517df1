// docs/pieces.md's "Testing a piece" example, run as a reader would run it: the block saved as
// text.test.js in a project of its own that has piecework and vitest installed (here as links to
// this checkout) and the text piece at ./pieces-extra/text, then `vitest run` there.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { ROOT } from '../helpers/cases.js'

const exec = promisify(execFile)
const MARK = '// text.test.js (vitest)'

it("runs the piece test of docs/pieces.md in a project of the reader's, and its tests pass", async () => {
  const page = readFileSync(join(ROOT, 'docs/pieces.md'), 'utf8')
  const start = page.indexOf(MARK)
  expect(start, `docs/pieces.md has no block that opens with ${MARK}`).toBeGreaterThan(0)
  const code = page.slice(start, page.indexOf('```', start))
  const project = mkdtempSync(join(tmpdir(), 'piecework-piece-test-'))
  mkdirSync(join(project, 'node_modules'))
  mkdirSync(join(project, 'pieces-extra'))
  symlinkSync(ROOT, join(project, 'node_modules', 'piecework'))
  symlinkSync(join(ROOT, 'node_modules', 'vitest'), join(project, 'node_modules', 'vitest'))
  symlinkSync(join(ROOT, 'test/fixtures/pieces/text'), join(project, 'pieces-extra', 'text'))
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }))
  writeFileSync(join(project, 'text.test.js'), code)
  const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs')
  const { stdout } = await exec(process.execPath, [vitest, 'run', '--root', project], {
    cwd: project,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    timeout: 60_000,
  })
  expect(stdout).toMatch(/Tests\s+2 passed \(2\)/)
})
