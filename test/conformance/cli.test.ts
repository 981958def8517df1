// Every conformance case through `piecework run` (the compiled bin), as a user's script would call it.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { expectable, expectedRun, loadCases, ROOT } from '../helpers/cases.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'

const exec = promisify(execFile)
const BIN = join(ROOT, 'dist/src/cli.js')

async function piecework(args: string[]) {
  try {
    const { stdout, stderr } = await exec('node', [BIN, ...args], { cwd: ROOT })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe(`conformance through piecework run (${TEST_DB})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'piecework-cli-'))
  for (const c of loadCases()) {
    it(c.name, async () => {
      const file = join(dir, c.name)
      writeFileSync(file, stringify(c.workflow))
      const db = TEST_DB === 'postgres' ? ['--db', await freshDatabaseUrl()] : []
      const v2: string[] = []
      if (c.workflows) {
        const callees = join(dir, `${c.name}.workflows`)
        mkdirSync(callees, { recursive: true })
        for (const w of c.workflows) writeFileSync(join(callees, `${String(w.id)}.yaml`), stringify(w))
        v2.push('--workflows', callees)
      }
      for (const s of c.signals ?? []) v2.push('--signal', `${s.name}=${JSON.stringify(s.data ?? null)}`)
      const input = JSON.stringify(c.input ?? {})
      const result = await piecework(['run', file, '--input', input, ...db, ...v2])
      if (c.expect.invalid) {
        expect(result.code).toBe(2)
        const text = (result.stdout + result.stderr).toLowerCase()
        for (const mention of c.expect.mentions ?? []) expect(text).toContain(String(mention).toLowerCase())
        return
      }
      const run = JSON.parse(result.stdout)
      expect(expectable(run)).toMatchObject(expectedRun(c))
      expect(result.code).toBe(c.expect.status === 'succeeded' ? 0 : 1)
    })
  }
})
