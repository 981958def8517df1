import { describe, expect, it } from 'vitest'
import { REDACTED, Redactor, secretForms } from '../../src/workers/redact.js'

describe('secret scrubbing', () => {
  it('scrubs raw, JSON-escaped, URL-encoded and Basic-auth forms, and leaves JSON parseable', () => {
    const redactor = new Redactor(
      secretForms({ username: 'ann', password: 'p@ss "word"', apiKey: 'key-123456' }),
    )
    const basic = Buffer.from('ann:p@ss "word"').toString('base64')
    const json = JSON.stringify({
      a: 'p@ss "word"',
      b: `Basic ${basic}`,
      c: 'x?k=p%40ss%20%22word%22',
      d: 'key-123456',
    })
    expect(JSON.parse(redactor.text(json))).toEqual({
      a: REDACTED,
      b: `Basic ${REDACTED}`,
      c: `x?k=${REDACTED}`,
      d: REDACTED,
    })
  })

  it('scrubs a secret inside another whole, and values of every shape', () => {
    const redactor = new Redactor(secretForms({ apiKey: 'abcd', token: 'abcdef' }))
    expect(redactor.text('abcdef abcd')).toBe(`${REDACTED} ${REDACTED}`)
    expect(redactor.value({ list: ['abcd'], nested: { n: 1 } })).toEqual({
      list: [REDACTED],
      nested: { n: 1 },
    })
  })

  it('does not scrub values too short to be secrets, nor the username or base URL', () => {
    const forms = secretForms({ apiKey: 'abc', username: 'admin', baseUrl: 'http://svc' })
    expect(forms).toEqual([])
    expect(new Redactor(forms).empty).toBe(true)
  })
})
