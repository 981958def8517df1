import { describe, expect, it } from 'vitest'
import { ConcurrencyGates } from '../../src/runtime/concurrency-gate.js'

type Step = ['enter', string, number] | ['leave', string]

/** Plays enters and leaves on workflow `w`; answers what each enter said and what each leave freed. */
function play(steps: Step[]): string[] {
  const gates = new ConcurrencyGates<string>()
  return steps.map((step) =>
    step[0] === 'enter'
      ? `${step[1]}:${gates.enter('w', step[2], step[1], step[1]) ? 'go' : 'wait'}`
      : `-${step[1]}:[${gates.leave(step[1]).join(',')}]`,
  )
}

describe('the concurrency gates', () => {
  it.each<[string, Step[], string[]]>([
    [
      'runs go up to the limit, then wait',
      [
        ['enter', 'a', 2],
        ['enter', 'b', 2],
        ['enter', 'c', 2],
      ],
      ['a:go', 'b:go', 'c:wait'],
    ],
    [
      'a run that ends lets the first waiting one go',
      [
        ['enter', 'a', 1],
        ['enter', 'b', 1],
        ['enter', 'c', 1],
        ['leave', 'a'],
        ['enter', 'b', 1],
      ],
      ['a:go', 'b:wait', 'c:wait', '-a:[b]', 'b:go'],
    ],
    [
      'a waiting run that leaves gives up its turn and frees nothing',
      [
        ['enter', 'a', 1],
        ['enter', 'b', 1],
        ['enter', 'c', 1],
        ['leave', 'b'],
        ['leave', 'a'],
      ],
      ['a:go', 'b:wait', 'c:wait', '-b:[]', '-a:[c]'],
    ],
    [
      'entering twice holds one place',
      [
        ['enter', 'a', 1],
        ['enter', 'a', 1],
        ['enter', 'b', 1],
      ],
      ['a:go', 'a:go', 'b:wait'],
    ],
    ['a run never seen frees nothing', [['leave', 'x']], ['-x:[]']],
  ])('%s', (_name, steps, expected) => {
    expect(play(steps)).toEqual(expected)
  })

  it('keeps workflows apart', () => {
    const gates = new ConcurrencyGates<string>()
    expect(gates.enter('w1', 1, 'a', 'a')).toBe(true)
    expect(gates.enter('w2', 1, 'b', 'b')).toBe(true)
    expect(gates.enter('w1', 1, 'c', 'c')).toBe(false)
    expect([gates.active('w1'), gates.waiting('w1'), gates.active('w2')]).toEqual([1, 1, 1])
  })
})
