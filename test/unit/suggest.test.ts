import { describe, expect, it } from 'vitest'
import { stepReferences, unknownStepReferences } from '../../src/definition/step-references.js'
import { closest, editDistance } from '../../src/definition/suggest.js'

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', 'abc', 0],
    ['backof', 'backoff', 1],
    ['methd', 'method', 1],
    ['data.sett', 'data.set', 1],
    ['kitten', 'sitting', 3],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
  })
})

describe('closest', () => {
  it.each([
    { word: 'methd', candidates: ['url', 'method', 'headers'], expected: 'method' },
    { word: 'backof', candidates: ['attempts', 'backoff', 'delay'], expected: 'backoff' },
    { word: 'data.sett', candidates: ['data.set', 'code.run', 'flow.if'], expected: 'data.set' },
    { word: 'Code', candidates: ['code'], expected: 'code' },
    { word: 'zzzzzz', candidates: ['method', 'url'], expected: undefined },
    { word: 'url', candidates: ['url'], expected: undefined },
    { word: 'b', candidates: ['a'], expected: undefined },
    { word: 'if', candidates: ['id'], expected: undefined },
  ])('$word among $candidates: $expected', ({ word, candidates, expected }) => {
    expect(closest(word, candidates)).toBe(expected)
  })
})

describe('stepReferences', () => {
  it.each([
    { source: 'steps.a.output', refs: ['a'] },
    { source: 'steps.a.output.x + steps.b.output', refs: ['a', 'b'] },
    { source: '$count(steps.list.output[value > 1])', refs: ['list'] },
    { source: 'input.steps.a', refs: [] },
    { source: '$steps.a', refs: [] },
    { source: 'trigger.body', refs: [] },
    { source: 'steps.', refs: [] },
  ])('$source reads $refs', ({ source, refs }) => {
    expect(stepReferences(source)).toEqual(refs)
  })

  it('names each unknown step of a nested value with its path and the closest known one', () => {
    const known = new Set(['fetch', 'parse'])
    const value = { a: 'text {{ steps.fetch.output }}', b: ['{{ steps.fetc.output }}'], c: 1 }
    expect(unknownStepReferences(value, 'steps[2].with', known, "step 'x'")).toEqual([
      {
        path: 'steps[2].with.b[0]',
        message: "step 'x': steps.fetc names no step of this workflow (did you mean 'fetch'?)",
      },
    ])
  })
})
