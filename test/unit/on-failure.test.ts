// onFailure: the input and the row of the run a failed run starts, and the checks of the name.
import { describe, expect, it } from 'vitest'
import { unknownFailureHandler } from '../../src/commands/validate.js'
import { failureInput, failureRunRow } from '../../src/runtime/on-failure.js'
import type { RunState } from '../../src/runtime/state.js'

const failedRun = (error: RunState['error'], depth = 0): RunState => ({
  id: 'run-1',
  status: 'failed',
  steps: new Map(),
  signals: [],
  depth,
  error,
})

describe('failureInput', () => {
  const cases: [string, RunState['error'], unknown][] = [
    [
      'names the step that failed the run and its error',
      { code: 'HTTP_500', message: 'the server failed', stepId: 'charge' },
      { code: 'HTTP_500', message: 'the server failed' },
    ],
    [
      'keeps the details of the error',
      { code: 'CHILD_FAILED', message: 'x', details: { runId: 'c' }, stepId: 'sub' },
      { code: 'CHILD_FAILED', message: 'x', details: { runId: 'c' } },
    ],
  ]
  it.each(cases)('%s', (_name, error, expected) => {
    expect(failureInput(failedRun(error), 'charges', 3)).toEqual({
      runId: 'run-1',
      workflowId: 'charges',
      workflowVersion: 3,
      error: expected,
      stepId: error?.stepId,
    })
  })

  it('gives a null step when the run failed as a whole (its output expression)', () => {
    const input = failureInput(failedRun({ code: 'EXPRESSION', message: 'workflow output: oops' }), 'w', 1)
    expect(input).toMatchObject({ error: { code: 'EXPRESSION' }, stepId: null })
  })
})

describe('failureRunRow', () => {
  it('is a queued run that nobody holds, one deeper than the failed run, with the input as JSON', () => {
    const input = failureInput(failedRun({ code: 'E', message: 'm', stepId: 's' }, 2), 'charges', 1)
    expect(failureRunRow('h-1', { workflowId: 'alert', version: 4 }, input, 3, 1000)).toEqual({
      id: 'h-1',
      workflow_id: 'alert',
      workflow_version: 4,
      status: 'queued',
      input: JSON.stringify(input),
      created_at: 1000,
      owner: null,
      lease_until: null,
      depth: 3,
    })
  })
})

describe('unknownFailureHandler', () => {
  const cases: [string, unknown, string[]][] = [
    ['says nothing of a workflow without onFailure', { id: 'a' }, []],
    ['says nothing of a handler among the checked files', { id: 'a', onFailure: 'alert' }, []],
    [
      'warns of a handler none of the checked files defines',
      { id: 'a', onFailure: 'pager' },
      [
        "onFailure names workflow 'pager', which none of the checked files defines (fine if it is deployed already)",
      ],
    ],
  ]
  it.each(cases)('%s', (_name, definition, warnings) => {
    expect(unknownFailureHandler(definition, new Set(['a', 'alert']))).toEqual(warnings)
  })
})
