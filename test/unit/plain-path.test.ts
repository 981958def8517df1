// Plain paths are read without JSONata's evaluator: every case here is rendered both ways and must
// give the same answer, and the shapes that are more than a plain path are left to JSONata.
import jsonata from 'jsonata'
import { describe, expect, it } from 'vitest'
import { EVALUATE, plainPath, readPlainPath } from '../../src/definition/plain-path.js'
import { compileTemplate, renderTemplate } from '../../src/definition/template.js'

describe('plainPath', () => {
  it.each([
    ['input', ['input']],
    ['input.name', ['input', 'name']],
    ['steps.fetch.output', ['steps', 'fetch', 'output']],
    ['`a b`.c', ['a b', 'c']],
    ['input . and', ['input', 'and']],
  ])('%s is a plain path', (source, names) => {
    expect(plainPath(jsonata(source).ast() as never)).toEqual(names)
  })

  it.each([
    'input[0]',
    'input.x[0]',
    'input.x[y = 1]',
    '$.x',
    '$$.x',
    '$x.y',
    'x.y{}',
    'a.b^(c)',
    'a.*',
    'a.**',
    'a.b#$i',
    'a.b@$c',
    '(a.b)',
    '"a"',
    '1',
    'a.b + 1',
    '$merge([a, b])',
    'a.%.b',
    'a.b[]',
  ])('%s is not', (source) => {
    expect(plainPath(jsonata(source).ast() as never)).toBeUndefined()
  })
})

const DATA = {
  input: {
    name: 'Ada',
    n: 0,
    flag: false,
    none: null,
    empty: '',
    nested: { deep: { er: [1, { two: 2 }] } },
    list: [1, 2, 3],
    single: [1],
    nestedList: [[1, 2], [3]],
    objects: [{ b: 1 }, { b: 2 }],
    text: 'x'.repeat(50),
    'a b': { c: 'spaced' },
  },
  steps: { fetch: { output: { status: 200, body: { id: 7 } } }, empty: { output: null } },
  item: [{ b: 1 }, { b: [2, 3] }],
  index: 2,
}

it('compiles a plain path for direct reading, and nothing else', () => {
  const of = (text: string) =>
    (compileTemplate(text, 'p', []) as { expression?: { path?: string[] } }).expression
  expect(of('{{ steps.fetch.output }}')?.path).toEqual(['steps', 'fetch', 'output'])
  expect(of('{{ steps.fetch.output[0] }}')?.path).toBeUndefined()
})

describe('a plain path gives what JSONata gives', () => {
  it.each([
    'input',
    'input.name',
    'input.n',
    'input.flag',
    'input.none',
    'input.empty',
    'input.missing',
    'input.missing.deeper',
    'input.name.length',
    'input.n.x',
    'input.none.x',
    'input.nested.deep.er',
    'input.list',
    'input.single',
    'input.nestedList',
    'input.objects',
    'input.objects.b',
    'input.list.x',
    'input.constructor',
    'input.toString',
    'input.__proto__',
    'input.hasOwnProperty',
    '`input`.`a b`.c',
    'steps.fetch.output.body.id',
    'steps.empty.output',
    'steps.empty.output.x',
    'item',
    'item.b',
    'index',
    'nothing',
  ])('%s', async (source) => {
    const template = compileTemplate(`{{ ${source} }}`, 'p', [])
    const fast = await renderTemplate(template, DATA)
    const slow = await jsonata(source).evaluate(DATA)
    // JSONata's undefined is the engine's null; the rest must be the same JSON
    expect(JSON.stringify(fast ?? null)).toBe(JSON.stringify(slow ?? null))
  })
})

describe('readPlainPath', () => {
  it.each([
    ['an array on the way', { a: [{ b: 1 }] }, ['a', 'b'], EVALUATE],
    ['an inherited name', { a: {} }, ['a', 'toString'], EVALUATE],
    ['a string over the limit', { a: 'x'.repeat(11) }, ['a'], EVALUATE],
    ['a string at the limit', { a: 'x'.repeat(10) }, ['a'], 'x'.repeat(10)],
    ['a missing name', { a: {} }, ['a', 'b'], undefined],
    ['a number on the way', { a: 1 }, ['a', 'b'], undefined],
    ['null on the way', { a: null }, ['a', 'b'], undefined],
    ['an array at the end', { a: { b: [1] } }, ['a', 'b'], [1]],
  ])('%s', (_name, data, names, expected) => {
    expect(readPlainPath(data, names as string[], 10)).toEqual(expected)
  })
})
