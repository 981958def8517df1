// Signed signal links (`$signalUrl(name)`): a URL that lets whoever holds it send one run one named
// signal, without an API key. The token names the run and the signal and carries an HMAC-SHA256 of
// both under `server.signingKey`; it does not expire, but stops working when the run ends.
import { createHmac, timingSafeEqual } from 'node:crypto'

export interface SignalTarget {
  runId: string
  name: string
}

/** Keeps a link signed for one purpose from being valid for another that the same key may sign. */
const PURPOSE = 'piecework signal link v1\n'

export class SignalLinks {
  private readonly base: string

  constructor(
    publicUrl: string,
    private readonly key: string,
  ) {
    this.base = publicUrl.replace(/\/+$/, '')
  }

  /** The absolute URL of the run's link for this signal. */
  url(runId: string, name: string): string {
    return `${this.base}/signals/${this.token({ runId, name })}`
  }

  token(target: SignalTarget): string {
    const payload = Buffer.from(JSON.stringify([target.runId, target.name])).toString('base64url')
    return `${payload}.${this.sign(payload)}`
  }

  /** The run and signal a token names, or undefined when it is malformed or its signature is wrong. */
  read(token: string): SignalTarget | undefined {
    const [payload, signature, ...rest] = token.split('.')
    if (!payload || !signature || rest.length > 0) return undefined
    // compared as text: decoding would accept other spellings of the same bytes
    const expected = Buffer.from(this.sign(payload))
    const given = Buffer.from(signature)
    // the length of an HMAC is public, so checking it first gives nothing away
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    try {
      const value: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      if (Array.isArray(value) && value.length === 2) {
        const [runId, name] = value as unknown[]
        if (typeof runId === 'string' && typeof name === 'string') return { runId, name }
      }
    } catch {
      // signed by us, so never reached unless the key was shared with something else
    }
    return undefined
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(PURPOSE).update(payload).digest('base64url')
  }
}
