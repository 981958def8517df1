// The signature rules of webhooks: Standard Webhooks (id, timestamp, signature, tolerance) and
// piecework's own X-Piecework-Signature (lowercase hex only).
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  type StandardHeaders,
  standardSignature,
  verifyStandard,
} from '../../src/triggers/standard-webhooks.js'
import { checkSignature, signatureValid } from '../../src/triggers/webhooks.js'

// the test vector of the Standard Webhooks reference libraries
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: '1614265330',
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
}
const AT = 1614265330_000
const FIVE_MINUTES = 5 * 60_000
const bytes = (text: string) => new TextEncoder().encode(text)
const headers = (over: Partial<StandardHeaders> = {}): StandardHeaders => ({
  id: VECTOR.id,
  timestamp: VECTOR.timestamp,
  signature: VECTOR.signature,
  ...over,
})

describe('standardSignature', () => {
  it('gives the reference libraries’ signature for their test vector', () => {
    expect(standardSignature(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature)
  })

  it('takes a secret without the whsec_ prefix as its UTF-8 text', () => {
    const mac = createHmac('sha256', 'plain-secret').update(`m1.5.body`).digest('base64')
    expect(standardSignature('plain-secret', 'm1', '5', 'body')).toBe(`v1,${mac}`)
  })
})

describe('verifyStandard', () => {
  const ok = { ok: true, id: VECTOR.id, timestampMs: AT }
  const cases: [string, Partial<StandardHeaders>, string, number, unknown][] = [
    ['accepts the test vector at its own time', {}, VECTOR.body, AT, ok],
    ['accepts it at the edge of the tolerance', {}, VECTOR.body, AT + FIVE_MINUTES, ok],
    ['accepts it from a sender whose clock is ahead', {}, VECTOR.body, AT - FIVE_MINUTES, ok],
    [
      'accepts one valid signature among several',
      { signature: `v1,bm9wZQ== v2,whatever ${VECTOR.signature}` },
      VECTOR.body,
      AT,
      ok,
    ],
    [
      'refuses a timestamp past the tolerance',
      {},
      VECTOR.body,
      AT + FIVE_MINUTES + 1000,
      { ok: false, reason: expect.stringContaining('outside the tolerance of 300 s') },
    ],
    [
      'refuses a timestamp too far ahead',
      {},
      VECTOR.body,
      AT - FIVE_MINUTES - 1000,
      { ok: false, reason: expect.stringContaining('outside the tolerance') },
    ],
    [
      'refuses another body',
      {},
      '{"test": 2432232315}',
      AT,
      { ok: false, reason: 'wrong webhook-signature' },
    ],
    [
      'refuses another id',
      { id: 'msg_other' },
      VECTOR.body,
      AT,
      { ok: false, reason: 'wrong webhook-signature' },
    ],
    [
      'refuses another timestamp, even inside the window',
      { timestamp: '1614265331' },
      VECTOR.body,
      AT,
      { ok: false, reason: 'wrong webhook-signature' },
    ],
    [
      'refuses a signature of another version',
      { signature: VECTOR.signature.replace('v1,', 'v1a,') },
      VECTOR.body,
      AT,
      { ok: false, reason: 'wrong webhook-signature' },
    ],
    [
      'refuses a signature that is not base64',
      { signature: 'v1,***' },
      VECTOR.body,
      AT,
      { ok: false, reason: 'wrong webhook-signature' },
    ],
    [
      'refuses a timestamp in milliseconds or words',
      { timestamp: 'yesterday' },
      VECTOR.body,
      AT,
      { ok: false, reason: 'webhook-timestamp is not a number of seconds' },
    ],
    [
      'refuses a request without an id',
      { id: undefined },
      VECTOR.body,
      AT,
      {
        ok: false,
        reason: expect.stringContaining('needs webhook-id, webhook-timestamp and webhook-signature'),
      },
    ],
    [
      'refuses an id longer than 255 characters',
      { id: 'm'.repeat(256) },
      VECTOR.body,
      AT,
      { ok: false, reason: 'webhook-id is longer than 255 characters' },
    ],
  ]
  it.each(cases)('%s', (_name, over, body, now, verdict) => {
    expect(verifyStandard(VECTOR.secret, headers(over), bytes(body), now, FIVE_MINUTES)).toEqual(verdict)
  })
})

describe('signatureValid (X-Piecework-Signature)', () => {
  const hex = createHmac('sha256', 'secret').update('body').digest('hex')
  const cases: [string, string | undefined, boolean][] = [
    ['accepts sha256= and the lowercase hex HMAC of the body', `sha256=${hex}`, true],
    ['refuses the same HMAC in uppercase hex', `sha256=${hex.toUpperCase()}`, false],
    ['refuses it in mixed case', `sha256=${hex.slice(0, 32)}${hex.slice(32).toUpperCase()}`, false],
    ['refuses the hex without sha256=', hex, false],
    ['refuses a missing header', undefined, false],
  ]
  it.each(cases)('%s', (_name, header, valid) => {
    expect(signatureValid('secret', bytes('body'), header)).toBe(valid)
  })
})

describe('checkSignature', () => {
  const legacy = `sha256=${createHmac('sha256', VECTOR.secret).update(VECTOR.body).digest('hex')}`
  const from = (h: Record<string, string>) => (name: string) => h[name]
  const standard = {
    'webhook-id': VECTOR.id,
    'webhook-timestamp': VECTOR.timestamp,
    'webhook-signature': VECTOR.signature,
  }

  it('checks a request with webhook-signature as Standard Webhooks and gives the id to remember', () => {
    expect(
      checkSignature(VECTOR.secret, bytes(VECTOR.body), from(standard), AT + 1000, FIVE_MINUTES),
    ).toEqual({
      ok: true,
      replayId: { id: VECTOR.id, expiresAt: AT + 1000 + FIVE_MINUTES },
    })
  })

  it('remembers an id until the window of a timestamp ahead of the clock has passed', () => {
    const check = checkSignature(VECTOR.secret, bytes(VECTOR.body), from(standard), AT - 1000, FIVE_MINUTES)
    expect(check).toEqual({ ok: true, replayId: { id: VECTOR.id, expiresAt: AT + FIVE_MINUTES } })
  })

  it('takes X-Piecework-Signature beside it, with no id to remember', () => {
    const check = checkSignature(
      VECTOR.secret,
      bytes(VECTOR.body),
      from({ 'x-piecework-signature': legacy }),
      AT,
      1,
    )
    expect(check).toEqual({ ok: true })
  })

  it('does not fall back to X-Piecework-Signature when a Standard Webhooks signature is wrong', () => {
    const h = { ...standard, 'webhook-signature': 'v1,bm9wZQ==', 'x-piecework-signature': legacy }
    expect(checkSignature(VECTOR.secret, bytes(VECTOR.body), from(h), AT, FIVE_MINUTES)).toEqual({
      ok: false,
      reason: 'wrong webhook-signature',
    })
  })

  it('names both ways to sign when a request has no signature', () => {
    const check = checkSignature(VECTOR.secret, bytes(VECTOR.body), from({}), AT, FIVE_MINUTES)
    expect(check).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/webhook-signature.*X-Piecework-Signature/),
    })
  })

  it('says lowercase hex when X-Piecework-Signature is wrong', () => {
    const check = checkSignature(
      VECTOR.secret,
      bytes(VECTOR.body),
      from({ 'x-piecework-signature': legacy.toUpperCase() }),
      AT,
      FIVE_MINUTES,
    )
    expect(check).toMatchObject({ ok: false, reason: expect.stringContaining('lowercase hex') })
  })
})
