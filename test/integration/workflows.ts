// Small builders for the integration suites: workflow definitions written in code, each with an id
// of its own so that one engine can hold every workflow a test file deploys.
import { expect } from 'vitest'
import type { Engine } from '../../src/runtime/engine.js'
import type { RunView, StepView } from '../../src/store/runs.js'

let counter = 0

/** A fresh workflow id: `prefix-<n>`. */
export function workflowId(prefix: string): string {
  counter += 1
  return `${prefix}-${counter}`
}

export interface StepOptions {
  needs?: string[]
  timeout?: string | number
  retry?: Record<string, unknown>
  onError?: 'fail' | 'continue' | 'branch'
}

export function step(id: string, uses: string, props: Record<string, unknown>, options: StepOptions = {}) {
  return { id, uses, with: props, ...options }
}

/** A manual workflow of the given steps. */
export function workflow(prefix: string, steps: unknown[], extra: Record<string, unknown> = {}) {
  return { id: workflowId(prefix), trigger: { uses: 'manual' }, steps, ...extra }
}

/** A manual workflow of one `code.run` step named `code`. */
export function codeWorkflow(code: string, options: StepOptions = {}) {
  return workflow('code', [step('code', 'code.run', { code }, options)])
}

export function stepOf(run: RunView, id: string): StepView {
  const found = run.steps.find((s) => s.id === id)
  if (!found) throw new Error(`run ${run.id} has no step '${id}'`)
  return found
}

/** Expects the run to have failed at `stepId` with `code`, and returns the step's error. */
export function expectFailed(run: RunView, stepId: string, code: string): { code: string; message: string } {
  expect(run, JSON.stringify(run.error)).toMatchObject({ status: 'failed', error: { code, stepId } })
  const failed = stepOf(run, stepId)
  expect(failed).toMatchObject({ status: 'failed', error: { code } })
  return failed.error as { code: string; message: string }
}

export async function runOk(engine: Engine, definition: unknown, input: unknown = {}): Promise<RunView> {
  const run = await engine.runOnce(definition, input)
  expect(run.status, JSON.stringify(run.error)).toBe('succeeded')
  return run
}
