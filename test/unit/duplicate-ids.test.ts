import { describe, expect, it } from 'vitest'
import { duplicateIds } from '../../src/definition/duplicate-ids.js'

describe('duplicateIds', () => {
  it.each([
    {
      name: 'distinct ids',
      entries: [
        { file: 'a.yaml', id: 'a' },
        { file: 'b.yaml', id: 'b' },
      ],
      expected: {},
    },
    {
      name: 'files without an id',
      entries: [
        { file: 'a.yaml', id: undefined },
        { file: 'b.yaml', id: undefined },
      ],
      expected: {},
    },
    {
      name: 'two files with one id',
      entries: [
        { file: 'a.yaml', id: 'x' },
        { file: 'b.yaml', id: 'x' },
        { file: 'c.yaml', id: 'c' },
      ],
      expected: {
        'a.yaml': "workflow id 'x' is also defined in b.yaml: each id belongs to one file",
        'b.yaml': "workflow id 'x' is also defined in a.yaml: each id belongs to one file",
      },
    },
    {
      name: 'three files with one id',
      entries: [
        { file: 'a.yaml', id: 'x' },
        { file: 'b.yaml', id: 'x' },
        { file: 'c.yaml', id: 'x' },
      ],
      expected: {
        'a.yaml': "workflow id 'x' is also defined in b.yaml, c.yaml: each id belongs to one file",
        'b.yaml': "workflow id 'x' is also defined in a.yaml, c.yaml: each id belongs to one file",
        'c.yaml': "workflow id 'x' is also defined in a.yaml, b.yaml: each id belongs to one file",
      },
    },
  ])('$name', ({ entries, expected }) => {
    expect(Object.fromEntries(duplicateIds(entries))).toEqual(expected)
  })
})
