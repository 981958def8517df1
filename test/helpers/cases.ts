// Conformance cases: the copies kept in this repository, plus any newer ones in ../shared/conformance.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

export interface ConformanceCase {
  name: string
  file: string
  workflow: Record<string, unknown>
  input: unknown
  /** v2: definitions the case's workflow calls (`workflow.run`). */
  workflows?: Record<string, unknown>[]
  /** v2: signals sent to the run right after it starts (buffered until a step waits). */
  signals?: { name: string; data?: unknown }[]
  expect: {
    invalid?: boolean
    mentions?: string[]
    status?: string
    output?: unknown
    error?: Record<string, unknown>
    steps?: Record<string, Record<string, unknown>>
  }
}

export const ROOT = resolve(import.meta.dirname, '../..')
const DIRS = [
  join(ROOT, 'test/conformance/cases'),
  join(ROOT, 'test/conformance/cases/v2'),
  resolve(ROOT, '../shared/conformance'),
  resolve(ROOT, '../shared/conformance/v2'),
]

export function loadCases(): ConformanceCase[] {
  const byName = new Map<string, ConformanceCase>()
  for (const dir of DIRS.filter((d) => existsSync(d))) {
    for (const name of readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()) {
      const file = join(dir, name)
      byName.set(name, { name, file, ...parse(readFileSync(file, 'utf8')) })
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
}

/** The run in the shape a case's `expect` is written in: steps keyed by id. */
export function expectable(run: { steps: { id: string }[] }) {
  return { ...run, steps: Object.fromEntries(run.steps.map((s) => [s.id, s])) }
}

export function expectedRun(c: ConformanceCase): Record<string, unknown> {
  const { invalid: _i, mentions: _m, ...rest } = c.expect as Record<string, unknown>
  delete rest.maxSeconds
  return rest
}
