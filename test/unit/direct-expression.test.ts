// Expressions of a few shapes are evaluated without JSONata's evaluator. Every expression here is
// evaluated both ways over every value of a table of data: the direct answer must be JSONata's,
// to the prototype, or EVALUATE (left to JSONata); the shapes real workflows use must be answered
// directly, and any other shape is not compiled at all.
import jsonata from 'jsonata'
import { describe, expect, it } from 'vitest'
import { compileDirect } from '../../src/definition/direct-expression.js'
import { EVALUATE } from '../../src/definition/plain-path.js'
import {
  compileTemplate,
  EXPRESSION_LIMITS,
  type ExpressionSyntaxError,
  renderTemplate,
} from '../../src/definition/template.js'

const BOUNDS = { maxChars: 1_000, maxDepth: 500, maxSequence: 100_000 }

const direct = (source: string, bounds = BOUNDS) => compileDirect(jsonata(source).ast() as never, bounds)

/** Values for `x` and `y` in the data: every JSON kind, arrays at every depth, huge and odd numbers. */
const VALUES: unknown[] = [
  undefined,
  null,
  0,
  1.5,
  -7,
  1e308,
  true,
  false,
  '',
  'text',
  'x'.repeat(1_001),
  [],
  [1],
  [1, 2],
  [[1], [2]],
  [{ a: 1 }],
  {},
  { a: 1, b: { c: 2 } },
  { a: [1, 2] },
  { n: 1, '1': 'one', z: null },
]

const DATA = VALUES.flatMap((x) =>
  [undefined, 2, 'y', [3], { b: 2 }].map((y) => ({
    input: { x, y, order: 4 },
    steps: { s: { output: { x } } },
  })),
)

/** Shapes that compile, each over the whole table. */
const COMPILED = [
  '$merge([input, {"s1": input.order + 1}])',
  '$merge([input.x, {"k": input.y}])',
  '$merge([input.x, input.y])',
  '$merge([steps.s.output, {"a": 1, "b": "two", "c": null, "d": true}])',
  '{"a": input.x, "b": input.y, "c": [input.x]}',
  '{"sum": input.x + input.y, "diff": input.x - 1, "p": input.order * 2, "q": input.order / 4, "r": input.order % 3}',
  '[input.x, input.y]',
  '[input.x, [input.y], []]',
  '[[input.x], [input.y, 1]]',
  'input.x + input.y',
  'input.order / input.x',
  'input.x * 1e308',
  '-1 + input.order',
  '{"nested": {"deeper": {"x": input.x}}}',
  '[1, "two", null, false]',
  '{"x": steps.s.output.x}',
  '{"n": input.x.n, "one": input.x.`1`}',
]

/** Shapes left to JSONata entirely. */
const NOT_COMPILED = [
  '$string(input.x)',
  '$merge([input.x])[0]',
  'input.x & input.y',
  'input.x = 1',
  'input.x ? 1 : 2',
  '{input.k: input.x}',
  '{"a": 1, "a": 2}',
  'input.x{"a": 1}',
  '[input.x][0]',
  'input.x[0] + 1',
  '$.input.x + 1',
  '($a := 1; $a + 1)',
  'function($v){ $v }(1)',
  '[1..3]',
  '"x" in ["x"]',
  `{"a": "${'x'.repeat(1_001)}"}`,
]

async function viaJsonata(source: string, data: unknown): Promise<{ value?: unknown; failed?: boolean }> {
  try {
    return { value: await jsonata(source).evaluate(data) }
  } catch {
    return { failed: true }
  }
}

describe('expressions evaluated directly', () => {
  it.each(COMPILED)('%s gives JSONata’s answer or leaves it to JSONata', async (source) => {
    const fn = direct(source)
    expect(fn).toBeDefined()
    let answered = 0
    for (const data of DATA) {
      const value = fn!(data, undefined)
      if (value === EVALUATE) continue
      answered++
      const expected = await viaJsonata(source, data)
      expect(expected.failed, `JSONata fails on ${JSON.stringify(data)}`).toBeUndefined()
      expect(value, JSON.stringify(data)).toStrictEqual(expected.value)
    }
    // each shape is answered directly for most ordinary data
    expect(answered).toBeGreaterThan(0)
  })

  it.each(NOT_COMPILED)('%s is left to JSONata', (source) => {
    expect(direct(source)).toBeUndefined()
  })

  it('answers the realistic enrichment step directly, with a null-prototype object as JSONata does', () => {
    const value = direct('$merge([input, {"s1": input.order + 1}])')!({ input: { order: 41 } }, undefined)
    expect(value).toStrictEqual(Object.assign(Object.create(null), { order: 41, s1: 42 }))
    expect(Object.getPrototypeOf(value)).toBeNull()
  })

  it('keeps the array an array constructor makes marked as JSONata marks it', async () => {
    const source = '{"list": [input.a, input.b]}'
    const value = direct(source)!({ input: { a: 1, b: 2 } }, undefined) as { list: { cons?: boolean } }
    const expected = (await jsonata(source).evaluate({ input: { a: 1, b: 2 } })) as {
      list: { cons?: boolean }
    }
    expect(value.list.cons).toBe(expected.list.cons)
  })

  it('leaves a function a scope binds under a built-in name to JSONata', () => {
    const fn = direct('$merge([input, {"a": 1}])')!
    expect(fn({ input: {} }, { merge: () => 1 })).toBe(EVALUATE)
    expect(fn({ input: {} }, { other: () => 1 })).toStrictEqual(Object.assign(Object.create(null), { a: 1 }))
  })

  it('leaves data that is an array to JSONata, which maps over it', () => {
    expect(direct('{"a": 1}')!([{}, {}], undefined)).toBe(EVALUATE)
  })

  it('compiles nothing deeper than half the frame budget', () => {
    expect(direct('[[[[1]]]]', { ...BOUNDS, maxDepth: 8 })).toBeUndefined()
    expect(direct('[[[[1]]]]', { ...BOUNDS, maxDepth: 10 })).toBeDefined()
  })

  it('compiles no array constructor longer than the sequence budget', () => {
    expect(direct('[1, 2, 3]', { ...BOUNDS, maxSequence: 3 })).toBeUndefined()
  })
})

describe('templates with directly evaluated expressions', () => {
  it.each([
    [{ order: 1 }, { order: 1, s1: 2 }],
    [{ order: 'one' }, 'fails'],
    [
      { order: 1, list: [1] },
      { order: 1, list: [1], s1: 2 },
    ],
  ])('render %j as JSONata would', async (input, expected) => {
    const errors: ExpressionSyntaxError[] = []
    const template = compileTemplate('{{ $merge([input, {"s1": input.order + 1}]) }}', 'with.value', errors)
    expect(errors).toEqual([])
    const rendered = renderTemplate(template, { input })
    if (expected === 'fails') await expect(rendered).rejects.toThrow(/failed/)
    else expect(JSON.parse(JSON.stringify(await rendered))).toEqual(expected)
  })

  it('still bounds the result of a directly evaluated expression', async () => {
    const errors: ExpressionSyntaxError[] = []
    const limits = { ...EXPRESSION_LIMITS, maxResultBytes: 64 }
    const template = compileTemplate('{{ [input.a, input.a, input.a] }}', 'with.value', errors, limits)
    await expect(renderTemplate(template, { input: { a: 'x'.repeat(30) } })).rejects.toThrow(/maxResultBytes/)
  })
})
