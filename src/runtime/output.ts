// The run's default output: the single leaf step that delivered, or an object keyed by step id.
import type { StepState } from './state.js'

export function defaultRunOutput(
  steps: ReadonlyMap<string, StepState>,
  dependents: ReadonlyMap<string, string[]>,
) {
  const delivered = [...steps.values()].filter(
    (step) => (dependents.get(step.id)?.length ?? 0) === 0 && step.handle !== undefined,
  )
  if (delivered.length === 0) return null
  if (delivered.length === 1) return delivered[0]!.output ?? null
  return Object.fromEntries(delivered.map((step) => [step.id, step.output ?? null]))
}
