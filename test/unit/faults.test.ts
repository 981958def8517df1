import { describe, expect, it } from 'vitest'
import { isEngineError } from '../../src/errors.js'
import { isTransientFault, openFailure, redactUrl } from '../../src/store/faults.js'

const err = (code: string, message = code) => Object.assign(new Error(message), { code })

describe('isTransientFault', () => {
  it.each([
    { error: err('57P01', 'terminating connection due to administrator command'), transient: true },
    { error: err('08006'), transient: true },
    { error: err('53100', 'could not extend file: No space left on device'), transient: true },
    { error: err('SQLITE_FULL'), transient: true },
    { error: err('SQLITE_BUSY'), transient: true },
    { error: err('ECONNREFUSED'), transient: true },
    { error: new Error('Connection terminated unexpectedly'), transient: true },
    { error: err('23505', 'duplicate key value'), transient: false },
    { error: err('SQLITE_CONSTRAINT_PRIMARYKEY'), transient: false },
    { error: new Error('syntax error'), transient: false },
    { error: 'a string', transient: false },
  ])('$error is transient: $transient', ({ error, transient }) => {
    expect(isTransientFault(error)).toBe(transient)
  })
})

describe('openFailure', () => {
  const url = 'postgres://app:s3cret@db:5432/piecework'
  it.each([
    { code: 'ECONNREFUSED', unreachable: true },
    { code: 'ENOTFOUND', unreachable: true },
    { code: '28P01', unreachable: true },
    { code: '3D000', unreachable: true },
    { code: 'SQLITE_CANTOPEN', unreachable: true },
    { code: '42P01', unreachable: false },
    { code: '', unreachable: false },
  ])('$code: unreachable $unreachable', ({ code, unreachable }) => {
    const error = err(code, `failed: ${code}`)
    const out = openFailure(error, url)
    if (!unreachable) return expect(out).toBe(error)
    expect(isEngineError(out) && out.code).toBe('DATABASE_UNREACHABLE')
    expect((out as Error).message).toBe(
      `cannot open the database at postgres://***@db:5432/piecework: failed: ${code}`,
    )
  })

  it('masks the password of a URL and leaves others as they are', () => {
    expect(redactUrl(url)).toBe('postgres://***@db:5432/piecework')
    expect(redactUrl('sqlite:./data/piecework.db')).toBe('sqlite:./data/piecework.db')
  })
})
