// Bounded expressions: each `{{ }}` evaluation stops at its time, depth, sequence and result-size
// limits with an error naming the limit, and ordinary expressions never notice them.
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { engineOptions } from '../../src/commands/serve.js'
import { applyEnvOverrides } from '../../src/config/load.js'
import { ConfigSchema } from '../../src/config/schema.js'
import {
  compileTemplate,
  EXPRESSION_LIMITS,
  ExpressionEvalError,
  ExpressionLimitError,
  type ExpressionLimits,
  expressionLimits,
  jsonBytesOver,
  renderTemplate,
} from '../../src/definition/template.js'

const render = (value: unknown, data: unknown = {}, limits?: Partial<ExpressionLimits>) =>
  renderTemplate(compileTemplate(value, 'p', [], expressionLimits(limits)), data)

/** Renders and returns the error it fails with, and how long the failure took. */
async function failure(value: unknown, options: { data?: unknown; limits?: Partial<ExpressionLimits> } = {}) {
  const started = performance.now()
  const error = await render(value, options.data, options.limits).then(
    (result) => {
      throw new Error(`expected a failure, got ${JSON.stringify(result)?.slice(0, 80)}`)
    },
    (error: unknown) => error,
  )
  return { error: error as ExpressionLimitError, ms: performance.now() - started }
}

const ENDLESS = '{{ ( $f := function($n){ $f($n + 1) }; $f(0) ) }}'
const DEEP = '{{ ( $f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000) ) }}'

describe('an expression over a limit', () => {
  it('stops endless recursion once its 100 ms budget is spent', async () => {
    const { error, ms } = await failure(ENDLESS)
    expect(error).toBeInstanceOf(ExpressionLimitError)
    expect(error).toBeInstanceOf(ExpressionEvalError)
    expect(error.limit).toBe('timeout')
    expect(error.message).toMatch(
      /^expression "\( \$f := .*" took longer than its 100 ms budget \(expressions\.timeout\)$/,
    )
    expect(ms).toBeGreaterThanOrEqual(95)
    expect(ms).toBeLessThan(1000)
  })

  it('stops recursion that goes deeper than its frames', async () => {
    const { error, ms } = await failure(DEEP)
    expect(error.limit).toBe('maxDepth')
    expect(error.message).toMatch(/went deeper than 500 frames \(expressions\.maxDepth\)$/)
    expect(ms).toBeLessThan(500)
  })

  it.each([
    ['a range past JSONata’s own cap', '{{ [1..100000000] }}'],
    ['a range past the cap', '{{ [1..100001] }}'],
    ['a range inside a function call', '{{ $count([1..5000000]) }}'],
    ['a sequence built from a path', '{{ [1..400].{"v": [1..400]}.v }}'],
  ])('refuses %s at once', async (_name, value) => {
    const { error, ms } = await failure(value)
    expect(error.limit).toBe('maxSequence')
    expect(error.message).toMatch(
      /produced a sequence longer than 100000 items \(expressions\.maxSequence\)$/,
    )
    expect(ms).toBeLessThan(500)
  })

  // strings are checked after every step, before a built-in can spend seconds on one
  const big = { s: 'x'.repeat(5_000_000) }
  it.each([
    ['a padded string', '{{ $pad("x", 100000000) }}'],
    ['a padded string in text', 'x={{ $pad("x", 100000000) }}'],
    ['the length of a padded string', '{{ $length($pad("x", 100000000)) }}'],
    ['a string doubled by &', `{{ ( $s := "x"; ${'$s := $s & $s; '.repeat(30)}$length($s) ) }}`],
    ['a joined string', '{{ ( $s := $pad("x", 100000); $join([1..50].($s), "") ) }}'],
    ['the length of a long input string', '{{ $length(input.s) }}'],
  ])('refuses %s longer than 4 MiB at once', async (_name, value) => {
    const { error, ms } = await failure(value, { data: { input: big } })
    expect(error.limit).toBe('maxResultBytes')
    expect(error.message).toMatch(
      /built a string longer than 4194304 characters \(expressions\.maxResultBytes\)$/,
    )
    expect(ms).toBeLessThan(500)
  })

  const parts = {
    s: 'x'.repeat(3_000_000),
    quotes: '"'.repeat(3_000_000),
    rows: Array.from({ length: 150_000 }, (_, i) => ({ id: i, name: `row number ${i}` })),
  }
  it.each([
    ['an array of strings', '{{ [input.s, input.s] }}'],
    ['an object of strings', '{{ {"a": input.s, "b": input.s} }}'],
    ['a string that doubles as JSON', '{{ input.quotes }}'],
    ['many small objects', '{{ input.rows }}'],
    ['text of several expressions', '{{ input.s }} and {{ input.s }}'],
  ])('refuses %s larger than 4 MiB as JSON', async (_name, value) => {
    const { error, ms } = await failure(value, { data: { input: parts } })
    expect(error.limit).toBe('maxResultBytes')
    expect(error.message).toMatch(/gave a result larger than 4194304 bytes \(expressions\.maxResultBytes\)$/)
    expect(ms).toBeLessThan(500)
  })

  it('names the step’s expression, not the text around it', async () => {
    const { error } = await failure({ a: ['ok', `before ${ENDLESS} after`] }, { limits: { timeoutMs: 20 } })
    expect(error.message).toMatch(
      /^expression "\( \$f := function\(\$n\)\{ \$f\(\$n \+ 1\) \}; \$f\(0\) \)" took/,
    )
  })
})

describe('limits given at compile time', () => {
  it.each<[string, Partial<ExpressionLimits>, string, RegExp]>([
    ['timeout', { timeoutMs: 20 }, ENDLESS, /took longer than its 20 ms budget/],
    [
      'maxDepth',
      { maxDepth: 30 },
      '{{ ( $f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(20) ) }}',
      /deeper than 30 frames/,
    ],
    ['maxSequence', { maxSequence: 10 }, '{{ [1..11] }}', /longer than 10 items/],
    ['maxResultBytes', { maxResultBytes: 10 }, '{{ "123456789" }}', /larger than 10 bytes/],
  ])('apply to %s', async (limit, limits, value, message) => {
    const { error } = await failure(value, { limits })
    expect(error.limit).toBe(limit)
    expect(error.message).toMatch(message)
  })

  it.each<[Partial<ExpressionLimits>, string, unknown]>([
    [{ maxSequence: 10 }, '{{ [1..10] }}', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    [{ maxResultBytes: 10 }, '{{ "12345678" }}', '12345678'],
    [{ maxDepth: 30 }, '{{ ( $f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(3) ) }}', 3],
  ])('let a value just within %j through', async (limits, value, expected) => {
    await expect(render(value, {}, limits)).resolves.toEqual(expected)
  })

  it('fill what is not given with the defaults', () => {
    expect(expressionLimits({ timeoutMs: 250, maxDepth: undefined })).toEqual({
      ...EXPRESSION_LIMITS,
      timeoutMs: 250,
    })
  })

  it('come from the config’s expressions section, or the variables that override it', () => {
    const env = { PIECEWORK_EXPRESSIONS_TIMEOUT: '250ms', PIECEWORK_EXPRESSIONS_MAX_SEQUENCE: '5000' }
    const config = v.parse(ConfigSchema, applyEnvOverrides({ expressions: { maxSequence: 7 } }, env))
    expect(engineOptions(config).expressions).toEqual({
      timeoutMs: 250,
      maxDepth: 500,
      maxSequence: 5000,
      maxResultBytes: 4 * 1024 * 1024,
    })
  })
})

describe('an ordinary expression', () => {
  const data = { input: { items: Array.from({ length: 1000 }, (_, i) => ({ v: i })), name: 'Ann' } }
  it.each<[string, string, unknown]>([
    ['a path', '{{ input.name }}', 'Ann'],
    ['a sum over a range at the cap', '{{ $sum([1..100000]) }}', 5000050000],
    ['a mapped path over the input', '{{ $count(input.items.v) }}', 1000],
    [
      'recursion 100 levels deep',
      '{{ ( $f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100) ) }}',
      100,
    ],
    [
      'tail recursion 200 calls long',
      '{{ ( $f := function($n, $acc){ $n = 0 ? $acc : $f($n - 1, $acc + $n) }; $f(200, 0) ) }}',
      20100,
    ],
    ['a 1 MB string', '{{ $length($pad("x", 1000000)) }}', 1000000],
  ])('is unaffected: %s', async (_name, value, expected) => {
    await expect(render(value, data)).resolves.toEqual(expected)
  })

  it('may give a result just under 4 MiB', async () => {
    const result = await render('{{ $pad("x", 4194302) }}')
    expect((result as string).length).toBe(4 * 1024 * 1024 - 2)
  })
})

describe('jsonBytesOver', () => {
  const values: [string, unknown][] = [
    ['ascii text', 'hello'],
    ['multi-byte text', 'héllo ☃ 𝄞'],
    ['text that escapes', '\u0001"\\\n'.repeat(20)],
    ['numbers and literals', [1, -2.5, 1e21, true, false, null]],
    ['nested objects', { a: { b: [1, 'x', { c: null }] }, 'ké\u0002y': 'v' }],
    ['an object with values JSON leaves out', { a: undefined, b: () => 1, c: 1 }],
    ['empty arrays and objects', [[], {}, { a: [] }, [{}]]],
    ['arrays holding values JSON writes as null', [undefined, () => 1, 'x']],
    ['one number', 12345],
    ['null', null],
  ]
  it.each(values)('agrees with JSON.stringify on %s, at the size and one under', (_name, value) => {
    const size = Buffer.byteLength(JSON.stringify(value))
    expect(jsonBytesOver(value, size)).toBe(false)
    expect(jsonBytesOver(value, size - 1)).toBe(true)
  })

  it('refuses a huge string by its length alone', () => {
    const huge = 'x'.repeat(400_000_000)
    const started = performance.now()
    expect(jsonBytesOver(huge, 4 * 1024 * 1024)).toBe(true)
    expect(performance.now() - started).toBeLessThan(50)
  })
})
