// Durations in definitions: milliseconds as a number, or a number with a unit.
import { describe, expect, it } from 'vitest'
import { formatDuration, parseDuration } from '../../src/definition/duration.js'

describe('parseDuration', () => {
  const cases: [number | string, number | undefined][] = [
    [0, 0],
    [250, 250],
    [1.5, 1.5],
    [-1, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    ['250ms', 250],
    ['10s', 10_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['0s', 0],
    ['1.5s', 1500],
    ['0.5ms', 1],
    ['10 s', 10_000],
    [' 10s ', 10_000],
    ['10', undefined],
    ['', undefined],
    ['10S', undefined],
    ['10sec', undefined],
    ['1w', undefined],
    ['-1s', undefined],
    ['s', undefined],
    ['1h30m', undefined],
  ]
  it.each(cases)('reads %j as %j', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })
})

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0ms'],
    [250, '250ms'],
    [1500, '1500ms'],
    [10_000, '10s'],
    [300_000, '5m'],
    [7_200_000, '2h'],
    [86_400_000, '1d'],
    [90_000, '90s'],
  ]
  it.each(cases)('writes %j as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })

  it.each([0, 250, 10_000, 300_000, 7_200_000, 86_400_000, 90_000])(
    'reads back what it wrote for %j',
    (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms)
    },
  )
})
