// How large a workflow may be (the config's `limits`). Checked on the raw definition before anything
// else, so that one over a limit is refused at deploy and validate time without first costing the
// engine a compile of its whole size.
import type { Problem } from '../errors.js'

export interface DefinitionLimits {
  /** Steps in one workflow. */
  maxSteps: number
  /** Needs of one step: its fan-in (a need on each of two handles of one step counts twice). */
  maxFanIn: number
  /** The definition, as JSON text, in bytes. */
  maxDefinitionBytes: number
}

/** Room for a 10,000-way fan-in, which the join rules handle in linear time (see bench/fan-in.mjs). */
export const DEFINITION_LIMITS: Readonly<DefinitionLimits> = {
  maxSteps: 20_000,
  maxFanIn: 10_000,
  maxDefinitionBytes: 8 * 1024 * 1024,
}

export function definitionLimits(overrides: Partial<DefinitionLimits> = {}): DefinitionLimits {
  const limits = { ...DEFINITION_LIMITS }
  for (const key of Object.keys(limits) as (keyof DefinitionLimits)[]) {
    const value = overrides[key]
    if (value !== undefined) limits[key] = value
  }
  return limits
}

const count = (n: number) => n.toLocaleString('en-US')

/**
 * The limits a raw definition breaks. Past the size in bytes nothing else is looked at; otherwise
 * the count of steps and each step's needs, read leniently (the schema judges their shape later).
 */
export function checkLimits(raw: unknown, limits: DefinitionLimits): Problem[] {
  const bytes = jsonBytes(raw)
  if (bytes !== undefined && bytes > limits.maxDefinitionBytes) {
    return [
      {
        path: '$',
        message: `the definition is ${count(bytes)} bytes as JSON; at most ${count(limits.maxDefinitionBytes)} are allowed (limits.maxDefinitionBytes)`,
      },
    ]
  }
  const steps = (raw as { steps?: unknown } | null)?.steps
  if (!Array.isArray(steps)) return []
  const problems: Problem[] = []
  if (steps.length > limits.maxSteps) {
    problems.push({
      path: 'steps',
      message: `the workflow has ${count(steps.length)} steps; at most ${count(limits.maxSteps)} are allowed (limits.maxSteps)`,
    })
  }
  steps.forEach((step, i) => {
    const needs = (step as { needs?: unknown } | null)?.needs
    if (!Array.isArray(needs) || needs.length <= limits.maxFanIn) return
    const id = (step as { id?: unknown }).id
    const name = typeof id === 'string' ? `step '${id}'` : `step #${i}`
    problems.push({
      path: `steps[${i}].needs`,
      message: `${name} has ${count(needs.length)} needs; at most ${count(limits.maxFanIn)} are allowed (limits.maxFanIn)`,
    })
  })
  return problems
}

/** UTF-8 bytes of the JSON text; undefined for what JSON cannot hold, which the schema refuses. */
function jsonBytes(raw: unknown): number | undefined {
  try {
    const text = JSON.stringify(raw)
    return text === undefined ? undefined : Buffer.byteLength(text, 'utf8')
  } catch {
    return undefined
  }
}
