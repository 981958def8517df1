// Graph checks: every problem in a workflow's edges, each with its path.
import { describe, expect, it } from 'vitest'
import { checkGraph, type GraphNode, parseNeed } from '../../src/definition/graph.js'

const node = (id: string, needs: string[] = [], handles: string[] | undefined = ['out']): GraphNode => ({
  id,
  needs,
  handles,
})

describe('parseNeed', () => {
  const cases: [string, { from: string; handle: string }][] = [
    ['a', { from: 'a', handle: 'out' }],
    ['a:out', { from: 'a', handle: 'out' }],
    ['big:true', { from: 'big', handle: 'true' }],
    ['sw:case-1', { from: 'sw', handle: 'case-1' }],
    ['a:b:c', { from: 'a', handle: 'b:c' }],
    ['a:', { from: 'a', handle: '' }],
  ]
  it.each(cases)('reads %j', (text, edge) => {
    expect(parseNeed(text)).toEqual(edge)
  })
})

describe('checkGraph', () => {
  it('finds nothing wrong in a diamond', () => {
    const nodes = [
      node('a', [], ['true', 'false']),
      node('b', ['a:true']),
      node('c', ['a:false']),
      node('d', ['b', 'c']),
    ]
    expect(checkGraph(nodes)).toEqual([])
  })

  const single: [string, GraphNode[], { path: string; message: string }][] = [
    [
      'reports a duplicate id at the second occurrence',
      [node('a'), node('b'), node('a')],
      { path: 'steps[2].id', message: "duplicate step id 'a'" },
    ],
    [
      'reports a need naming a missing step',
      [node('a'), node('b', ['a', 'ghost'])],
      { path: 'steps[1].needs[1]', message: "step 'b' needs 'ghost', which is not a step of this workflow" },
    ],
    [
      'reports a need naming a handle the step does not have, listing those it has',
      [node('a', [], ['true', 'false']), node('b', ['a:maybe'])],
      { path: 'steps[1].needs[0]', message: "step 'a' has no handle 'maybe' (it has: true, false)" },
    ],
    [
      'reports a plain need on a step without an out handle',
      [node('a', [], ['true', 'false']), node('b', ['a'])],
      { path: 'steps[1].needs[0]', message: "step 'a' has no handle 'out' (it has: true, false)" },
    ],
    [
      'reports a step that needs itself',
      [node('a'), node('b', ['a', 'b'])],
      { path: 'steps[1].needs[1]', message: "step 'b' needs itself: a cycle" },
    ],
    [
      'reports a need written twice',
      [node('a'), node('b', ['a', 'a'])],
      { path: 'steps[1].needs[1]', message: "step 'b' needs 'a' twice" },
    ],
  ]
  it.each(single)('%s', (_name, nodes, problem) => {
    expect(checkGraph(nodes)).toEqual([problem])
  })

  it('does not check handles of a step whose handles are unknown', () => {
    const unknown: GraphNode = { id: 'a', needs: [], handles: undefined }
    expect(checkGraph([unknown, node('b', ['a:anything'])])).toEqual([])
  })

  const cycles: [string, GraphNode[], { path: string; message: string }][] = [
    [
      'names both steps of a two-step cycle',
      [node('a', ['b']), node('b', ['a'])],
      { path: 'steps[0].needs', message: 'steps a, b form a cycle: a → b → a' },
    ],
    [
      'names every step of a longer cycle in the direction data flows, from the first written',
      [node('root'), node('a', ['root', 'c']), node('b', ['a']), node('c', ['b'])],
      { path: 'steps[1].needs', message: 'steps a, b, c form a cycle: a → b → c → a' },
    ],
    [
      'starts the cycle at the step written first wherever the search entered it',
      [node('c', ['b']), node('a', ['c']), node('b', ['a'])],
      { path: 'steps[0].needs', message: 'steps c, a, b form a cycle: c → a → b → c' },
    ],
    [
      'sees a cycle through named handles',
      [node('a', ['b:true']), node('b', ['a'], ['true', 'false'])],
      { path: 'steps[0].needs', message: 'steps a, b form a cycle: a → b → a' },
    ],
  ]
  it.each(cycles)('%s', (_name, nodes, problem) => {
    expect(checkGraph(nodes)).toEqual([problem])
  })

  it('reports two separate cycles separately', () => {
    const nodes = [node('a', ['b']), node('b', ['a']), node('c', ['d']), node('d', ['c'])]
    expect(checkGraph(nodes).map((p) => p.message)).toEqual(
      expect.arrayContaining(['steps a, b form a cycle: a → b → a', 'steps c, d form a cycle: c → d → c']),
    )
  })

  it('reports several problems at once, each with its path', () => {
    const nodes = [
      node('a', [], ['true', 'false']),
      node('a'),
      node('b', ['a:nope', 'missing', 'b']),
      node('x', ['y']),
      node('y', ['x']),
    ]
    expect(checkGraph(nodes)).toEqual([
      { path: 'steps[1].id', message: "duplicate step id 'a'" },
      { path: 'steps[2].needs[0]', message: "step 'a' has no handle 'nope' (it has: true, false)" },
      {
        path: 'steps[2].needs[1]',
        message: "step 'b' needs 'missing', which is not a step of this workflow",
      },
      { path: 'steps[2].needs[2]', message: "step 'b' needs itself: a cycle" },
      { path: 'steps[3].needs', message: 'steps x, y form a cycle: x → y → x' },
    ])
  })
})
