// Standard Webhooks (standardwebhooks.com) signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<raw body>">`, a timestamp within a tolerance window, and an id
// that the caller remembers to refuse a replay (src/store/webhook-ids.ts). Pure: the clock is passed in.
import { createHmac, timingSafeEqual } from 'node:crypto'

export interface StandardHeaders {
  id: string | undefined
  timestamp: string | undefined
  signature: string | undefined
}

export type StandardVerdict = { ok: true; id: string; timestampMs: number } | { ok: false; reason: string }

/** Ids longer than this are refused: they are stored, and no sender needs more. */
export const MAX_WEBHOOK_ID = 255

/** The key bytes: a `whsec_` secret is base64 after the prefix; any other is its UTF-8 text. */
export function secretKey(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret)
}

export function standardSignature(secret: string, id: string, timestamp: string, body: string | Uint8Array) {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest('base64')
  return `v1,${mac}`
}

/**
 * Whether a request carries a valid Standard Webhooks signature made at most `toleranceMs` from
 * `nowMs`. The header may list several signatures separated by spaces (a sender rotating its
 * secret); one valid `v1` is enough, and other versions are ignored.
 */
export function verifyStandard(
  secret: string,
  headers: StandardHeaders,
  body: Uint8Array,
  nowMs: number,
  toleranceMs: number,
): StandardVerdict {
  const { id, timestamp, signature } = headers
  if (!id || !timestamp || !signature)
    return {
      ok: false,
      reason: 'a Standard Webhooks request needs webhook-id, webhook-timestamp and webhook-signature',
    }
  if (id.length > MAX_WEBHOOK_ID)
    return { ok: false, reason: `webhook-id is longer than ${MAX_WEBHOOK_ID} characters` }
  if (!/^\d{1,15}$/.test(timestamp))
    return { ok: false, reason: 'webhook-timestamp is not a number of seconds' }
  const timestampMs = Number(timestamp) * 1000
  if (Math.abs(nowMs - timestampMs) > toleranceMs)
    return {
      ok: false,
      reason: `webhook-timestamp is ${Math.round((nowMs - timestampMs) / 1000)} s from now, outside the tolerance of ${toleranceMs / 1000} s`,
    }
  const expected = Buffer.from(standardSignature(secret, id, timestamp, body).slice(3), 'base64')
  for (const entry of signature.trim().split(/\s+/)) {
    const [version, mac] = entry.split(',', 2)
    if (version !== 'v1' || !mac || !/^[A-Za-z0-9+/]+={0,2}$/.test(mac)) continue
    const given = Buffer.from(mac, 'base64')
    if (given.length === expected.length && timingSafeEqual(given, expected))
      return { ok: true, id, timestampMs }
  }
  return { ok: false, reason: 'wrong webhook-signature' }
}
