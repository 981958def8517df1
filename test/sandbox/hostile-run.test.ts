// `piecework run` of each hostile shape ends by itself, with exit 1 and the step's error code: the
// sandbox process dies in its place, never the command.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { BIN, childEnv } from '../helpers/serve-process.js'
import { HOSTILE_SHAPES, HOSTILE_TIMEOUT_S, type HostileShape, hostileWorkflow } from './hostile-shapes.js'

interface Ended {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  seconds: number
}

function runFile(file: string): Promise<Ended> {
  const t = Date.now()
  const child = spawn('node', [BIN, 'run', file], { env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.resume()
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, seconds: (Date.now() - t) / 1000 })),
  )
}

describe('piecework run of hostile workflows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'piecework-hostile-'))
  // two at a time: each may take its sandbox process to its memory limit
  const pairs: HostileShape[][] = []
  for (let i = 0; i < HOSTILE_SHAPES.length; i += 2) pairs.push(HOSTILE_SHAPES.slice(i, i + 2))

  it.each(pairs.map((pair) => [pair.map((s) => s.name).join(' and '), pair] as const))(
    'ends %s with exit 1 and the step error code',
    async (_names, pair) => {
      const ends = await Promise.all(
        pair.map((shape) => {
          const file = join(dir, `${shape.name}.yaml`)
          writeFileSync(file, stringify(hostileWorkflow(shape)))
          return runFile(file)
        }),
      )
      for (const [i, end] of ends.entries()) {
        const shape = pair[i]!
        expect(end.signal, shape.name).toBeNull()
        expect(end.code, shape.name).toBe(1)
        const run = JSON.parse(end.stdout) as { status: string; error: { code: string } }
        expect(run.status).toBe('failed')
        expect(shape.expect, shape.name).toContain(run.error.code)
        expect(end.seconds, shape.name).toBeLessThan(HOSTILE_TIMEOUT_S + 8)
      }
    },
  )
})
