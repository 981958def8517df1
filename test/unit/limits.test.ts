// The limits on a workflow's size: what each refuses, with its path, at compile (deploy and validate)
// time; the defaults leave room for a 10,000-way fan-in; the config's `limits` sets them.
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { compileWorkflow } from '../../src/definition/compile.js'
import { checkLimits, DEFINITION_LIMITS, definitionLimits } from '../../src/definition/limits.js'
import type { Problem } from '../../src/errors.js'
import { definition, registry, step } from './workflows.js'

const small = { maxSteps: 3, maxFanIn: 2, maxDefinitionBytes: 2_000 }

/** `n` roots and one step needing all of them. */
function fanIn(n: number, join: Record<string, unknown> = {}) {
  const roots = Array.from({ length: n }, (_, i) => step(`s${i}`))
  return definition([...roots, step('merge', { uses: 'flow.merge', needs: roots.map((r) => r.id), ...join })])
}

function problemsWith(raw: unknown, limits = small): Problem[] {
  try {
    compileWorkflow(raw, registry, { limits })
    return []
  } catch (error) {
    return (error as { problems: Problem[] }).problems
  }
}

describe('checkLimits', () => {
  const cases: [string, unknown, Problem[]][] = [
    ['passes a definition within every limit', fanIn(2), []],
    [
      'names the steps when there are too many',
      definition([step('a'), step('b'), step('c'), step('d')]),
      [{ path: 'steps', message: 'the workflow has 4 steps; at most 3 are allowed (limits.maxSteps)' }],
    ],
    [
      "names a step's needs when its fan-in is too wide",
      definition([step('a'), step('b'), step('m', { needs: ['a', 'b', 'a:other'] })]),
      [
        {
          path: 'steps[2].needs',
          message: "step 'm' has 3 needs; at most 2 are allowed (limits.maxFanIn)",
        },
      ],
    ],
    [
      'counts a single need written as a string as one',
      definition([step('a'), step('b', { needs: 'a' })]),
      [],
    ],
    [
      'says only the size when the definition is too large',
      definition([step('a', { with: { value: 'x'.repeat(3_000) } }), step('b'), step('c'), step('d')]),
      [
        {
          path: '$',
          message: expect.stringMatching(
            /^the definition is 3,\d{3} bytes as JSON; at most 2,000 are allowed \(limits\.maxDefinitionBytes\)$/,
          ) as unknown as string,
        },
      ],
    ],
    ['leaves a definition without a steps list to the schema', { id: 'x' }, []],
    ['leaves what is not JSON to the schema', undefined, []],
  ]
  it.each(cases)('%s', (_name, raw, problems) => {
    expect(checkLimits(raw, small)).toEqual(problems)
  })

  it('measures the size in UTF-8 bytes, not characters', () => {
    const raw = definition([step('a', { with: { value: 'é'.repeat(980) } })])
    expect(checkLimits(raw, small)).toHaveLength(1)
  })
})

describe('the limits at compile time', () => {
  it('refuses a definition over a limit with a ValidationError before any other check', () => {
    const raw = definition([step('a', { uses: 'nope.x' }), step('b'), step('c'), step('d')])
    expect(problemsWith(raw)).toEqual([
      { path: 'steps', message: 'the workflow has 4 steps; at most 3 are allowed (limits.maxSteps)' },
    ])
  })

  it('allows a 10,000-way fan-in under the default limits', () => {
    const wf = compileWorkflow(fanIn(10_000), registry)
    expect(wf.byId.get('merge')?.needs).toHaveLength(10_000)
  })

  it('refuses a 10,001-way fan-in under the default limits', () => {
    expect(problemsWith(fanIn(10_001), DEFINITION_LIMITS)).toEqual([
      {
        path: 'steps[10001].needs',
        message: "step 'merge' has 10,001 needs; at most 10,000 are allowed (limits.maxFanIn)",
      },
    ])
  })
})

describe('the limits in the configuration', () => {
  it('defaults to DEFINITION_LIMITS', () => {
    expect(v.parse(ConfigSchema, {}).limits).toEqual(DEFINITION_LIMITS)
    expect(DEFINITION_LIMITS).toEqual({ maxSteps: 20_000, maxFanIn: 10_000, maxDefinitionBytes: 8_388_608 })
  })

  it('takes a limit from the file and another from PIECEWORK_LIMITS_*', () => {
    const config = parseConfig({ limits: { maxSteps: 50_000 } }, { PIECEWORK_LIMITS_MAX_FAN_IN: '20000' })
    expect(config.limits).toEqual({ maxSteps: 50_000, maxFanIn: 20_000, maxDefinitionBytes: 8_388_608 })
  })

  it('refuses a limit below one, naming the key', () => {
    expect(() => parseConfig({ limits: { maxFanIn: 0 } }, {})).toThrow(/limits\.maxFanIn/)
  })

  it('fills the limits not given with the defaults', () => {
    expect(definitionLimits({ maxSteps: 5 })).toEqual({ ...DEFINITION_LIMITS, maxSteps: 5 })
  })
})
