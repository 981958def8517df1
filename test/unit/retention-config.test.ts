// runs.retention as configured: nothing pruned by default, rules per status from the file and the
// environment, bad rules named; and how the batch size follows the time batches take.
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { nextBatchSize, prunerOptions } from '../../src/runtime/run-pruner.js'

describe('runs.retention in the config', () => {
  it('prunes nothing by default', () => {
    const config = parseConfig({}, {})
    expect(config.runs.retention).toEqual({ interval: '1m', batchSize: 200 })
    expect(prunerOptions(config.runs.retention)).toBeUndefined()
  })

  it('turns the rules of each status into the pruner options', () => {
    const config = parseConfig(
      {
        runs: {
          retention: {
            succeeded: { maxAge: '7d', keep: 1000 },
            failed: { maxAge: '30d' },
            cancelled: { keep: 10 },
            interval: '5m',
          },
        },
      },
      {},
    )
    expect(prunerOptions(config.runs.retention)).toEqual({
      rules: [
        { status: 'succeeded', maxAgeMs: 7 * 86_400_000, keep: 1000 },
        { status: 'failed', maxAgeMs: 30 * 86_400_000, keep: undefined },
        { status: 'cancelled', maxAgeMs: undefined, keep: 10 },
      ],
      intervalMs: 300_000,
      batchSize: 200,
    })
  })

  it('takes each key from PIECEWORK_RUNS_RETENTION_*', () => {
    const config = parseConfig(
      {},
      {
        PIECEWORK_RUNS_RETENTION_SUCCEEDED_MAX_AGE: '7d',
        PIECEWORK_RUNS_RETENTION_FAILED_KEEP: '50',
        PIECEWORK_RUNS_RETENTION_INTERVAL: '30s',
        PIECEWORK_RUNS_RETENTION_BATCH_SIZE: '100',
      },
    )
    expect(config.runs.retention).toEqual({
      succeeded: { maxAge: '7d' },
      failed: { keep: 50 },
      interval: '30s',
      batchSize: 100,
    })
  })

  it.each([
    [{ succeeded: {} }, /runs\.retention\.succeeded: set maxAge, keep, or both/],
    [{ succeeded: { maxAge: 'a week' } }, /runs\.retention\.succeeded\.maxAge/],
    [{ failed: { keep: -1 } }, /runs\.retention\.failed\.keep/],
    [{ waiting: { maxAge: '1d' } }, /unknown key 'waiting'/],
    [{ batchSize: 0 }, /runs\.retention\.batchSize/],
  ])('refuses %j, naming the key', (retention, message) => {
    expect(() => parseConfig({ runs: { retention } }, {})).toThrow(message)
  })
})

describe('the size of the next batch', () => {
  it.each([
    // size, took (ms), target (ms), max → next
    [200, 4, 10, 200, 200],
    [50, 4, 10, 200, 100],
    [150, 4, 10, 200, 200],
    [200, 40, 10, 200, 50],
    [200, 10_000, 10, 200, 1],
    [1, 30, 10, 200, 1],
  ])('%i runs in %i ms (target %i, at most %i) → %i', (size, took, target, max, next) => {
    expect(nextBatchSize(size, took, target, max)).toBe(next)
  })
})
