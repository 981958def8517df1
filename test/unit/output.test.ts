// The run's default output: chosen from the leaf steps that delivered.
import { describe, expect, it } from 'vitest'
import { defaultRunOutput } from '../../src/runtime/output.js'
import type { StepState } from '../../src/runtime/state.js'

const delivered = (id: string, output: unknown, handle = 'out'): StepState => ({
  id,
  status: 'succeeded',
  attempts: 1,
  interruptions: 0,
  handle,
  output,
  mailbox: [],
  deliveries: 0,
})
const skipped = (id: string): StepState => ({
  id,
  status: 'skipped',
  attempts: 0,
  interruptions: 0,
  mailbox: [],
  deliveries: 0,
})
const failedRun = (id: string): StepState => ({
  id,
  status: 'failed',
  attempts: 1,
  interruptions: 0,
  error: { code: 'FAIL', message: 'no' },
  mailbox: [],
  deliveries: 0,
})

/** a → b, a → c: b and c are the leaves. */
const dependents = new Map([
  ['a', ['b', 'c']],
  ['b', []],
  ['c', []],
])
const run = (...steps: StepState[]) => new Map(steps.map((s) => [s.id, s]))

describe('defaultRunOutput', () => {
  const cases: [string, Map<string, StepState>, unknown][] = [
    [
      'is the output of the single leaf that delivered',
      run(delivered('a', 1), delivered('b', { x: 2 }), skipped('c')),
      { x: 2 },
    ],
    [
      'is keyed by step id when several leaves delivered',
      run(delivered('a', 1), delivered('b', 2), delivered('c', 3)),
      { b: 2, c: 3 },
    ],
    ['is null when no leaf delivered', run(delivered('a', 1), skipped('b'), skipped('c')), null],
    ['is null when the leaf failed the run', run(delivered('a', 1), failedRun('b'), skipped('c')), null],
    [
      'is null for a leaf that delivered nothing',
      run(delivered('a', 1), delivered('b', undefined), skipped('c')),
      null,
    ],
    [
      'keeps a leaf that delivered nothing as null beside others',
      run(delivered('a', 1), delivered('b', undefined), delivered('c', 3)),
      { b: null, c: 3 },
    ],
    [
      'counts a leaf that fired a named handle',
      run(delivered('a', 1), delivered('b', 'yes', 'true'), skipped('c')),
      'yes',
    ],
  ]
  it.each(cases)('%s', (_name, steps, output) => {
    expect(defaultRunOutput(steps, dependents)).toEqual(output)
  })

  it('never takes the output of a step that has dependents', () => {
    const onlyRoot = run(delivered('a', 'root'), skipped('b'), skipped('c'))
    expect(defaultRunOutput(onlyRoot, dependents)).toBeNull()
  })
})
