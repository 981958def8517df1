// Shared by the unit tests: the built-in pieces, and workflows compiled from a few lines.
import { type CompiledWorkflow, compileWorkflow } from '../../src/definition/compile.js'
import { type Problem, ValidationError } from '../../src/errors.js'
import { loadRegistry } from '../../src/piece-sdk/registry.js'

export const registry = await loadRegistry()

export type StepSpec = Record<string, unknown> & { id: string }

/** A step of `uses` (data.set by default) with the given extra fields. */
export const step = (id: string, fields: Record<string, unknown> = {}): StepSpec => ({
  id,
  uses: 'data.set',
  ...fields,
})

export const definition = (steps: unknown[], extra: Record<string, unknown> = {}) => ({
  id: 'unit',
  trigger: { uses: 'manual' },
  steps,
  ...extra,
})

export function workflow(steps: StepSpec[], extra: Record<string, unknown> = {}): CompiledWorkflow {
  return compileWorkflow(definition(steps, extra), registry)
}

/** The problems a definition is rejected with, or [] when it compiles. */
export function problemsOf(raw: unknown): Problem[] {
  try {
    compileWorkflow(raw, registry)
    return []
  } catch (error) {
    if (error instanceof ValidationError) return error.problems
    throw error
  }
}
