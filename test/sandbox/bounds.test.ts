import { describe, expect, it } from 'vitest'
import { boundError, LogBudget, truncate } from '../../src/workers/bounds.js'

const SMALL = { lineChars: 10, stepLines: 3, stepChars: 25, errorChars: 10 }

describe('the bounds of what a step hands back', () => {
  it.each([
    ['short text stays', 'hello', 10, 'hello'],
    ['long text is cut with a marker', 'abcdefghijkl', 10, 'abcdefghij… [2 characters cut]'],
  ])('%s', (_name, text, limit, expected) => {
    expect(truncate(text, limit)).toBe(expected)
  })

  it('cuts a long line and drops data over the line limit', () => {
    const budget = new LogBudget({ ...SMALL, stepChars: 1000 })
    expect(budget.admit('0123456789AB', '"x"')).toEqual({
      msg: '0123456789… [2 characters cut]',
      data: '"x"',
    })
    expect(budget.admit('a', JSON.stringify('y'.repeat(20)))?.data).toMatch(/data of 22 characters dropped/)
  })

  it('drops lines past the step limit and says how many once', () => {
    const budget = new LogBudget(SMALL)
    const admitted = ['a', 'b', 'c', 'd', 'e'].map((msg) => budget.admit(msg, undefined))
    expect(admitted.filter(Boolean)).toHaveLength(3)
    expect(budget.close()).toMatch(/^2 log line\(s\) dropped/)
  })

  it('drops lines past the step character limit', () => {
    const budget = new LogBudget({ ...SMALL, stepLines: 100 })
    const admitted = Array.from({ length: 5 }, () => budget.admit('0123456789', undefined))
    expect(admitted.filter(Boolean)).toHaveLength(2)
    expect(new LogBudget(SMALL).close()).toBeUndefined()
  })

  it('cuts an error message and its details', () => {
    const error = boundError(
      {
        name: 'E',
        code: 'CODE',
        message: 'm'.repeat(50),
        retryable: false,
        details: { big: 'd'.repeat(50) },
      },
      10,
    )
    expect(error.message).toBe('mmmmmmmmmm… [40 characters cut]')
    expect(error.details).toMatchObject({ truncated: true, characters: 60 })
    expect(boundError({ name: 'E', code: 'C', message: 'ok', retryable: true, details: [1] })).toEqual({
      name: 'E',
      code: 'C',
      message: 'ok',
      retryable: true,
      details: [1],
    })
  })
})
