// Webhook routing: which workflow owns which /hooks path, kept in step with deployments, and the
// signature checks: Standard Webhooks (src/triggers/standard-webhooks.ts) or piecework's own
// X-Piecework-Signature (HMAC-SHA256 of the raw body), compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Engine } from '../runtime/engine.js'
import { WebhookIds } from '../store/webhook-ids.js'
import { verifyStandard } from './standard-webhooks.js'

export interface WebhookRoute {
  workflowId: string
  path: string
  method: string
  respond: 'immediately' | 'onComplete'
  secret?: string
}

export const DEFAULT_TOLERANCE_MS = 5 * 60_000

export function normalisePath(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

export class WebhookRoutes {
  private routes = new Map<string, WebhookRoute>()

  private timer: NodeJS.Timeout | undefined

  /** The Standard Webhooks ids taken, to refuse replays (in the database: every process sees them). */
  readonly ids: WebhookIds

  /** `toleranceMs`: how far a Standard Webhooks timestamp may be from now (webhooks.tolerance). */
  constructor(
    private readonly engine: Engine,
    readonly toleranceMs = DEFAULT_TOLERANCE_MS,
  ) {
    this.ids = new WebhookIds(engine.db.knex)
    engine.events.on('workflow', () => void this.reload().catch(() => {}))
  }

  private reading: Promise<void> | undefined
  private next: Promise<void> | undefined

  /**
   * Re-reads the routes. What it resolves with was read after the call: a reload already under way
   * may have read too early, so a call during one waits for the next, and every call made during the
   * same reload shares that next one. A flood of misses thus reads the database at most twice at a
   * time, not once per request.
   */
  reload(): Promise<void> {
    if (!this.reading) {
      this.reading = this.read().finally(() => {
        this.reading = undefined
      })
      return this.reading
    }
    this.next ??= this.reading
      .catch(() => {})
      .then(() => {
        this.next = undefined
        return this.reload()
      })
    return this.next
  }

  private async read(): Promise<void> {
    const routes = new Map<string, WebhookRoute>()
    for (const { workflow } of await this.engine.liveWorkflows('webhook')) {
      const props = workflow.trigger.props as Omit<WebhookRoute, 'workflowId'>
      const path = normalisePath(props.path)
      routes.set(path, {
        workflowId: workflow.id,
        path,
        method: props.method ?? 'POST',
        respond: props.respond ?? 'immediately',
        secret: props.secret,
      })
    }
    this.routes = routes
  }

  /** Re-reads the routes now and then: another process sharing the database may have changed them. */
  start(everyMs = 2_000): void {
    this.timer = setInterval(() => void this.reload().catch(() => {}), everyMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  find(path: string): WebhookRoute | undefined {
    return this.routes.get(normalisePath(path))
  }
}

/** `X-Piecework-Signature: sha256=<hex>` over the raw body; lowercase hex only, one spelling per MAC. */
export function signatureValid(secret: string, body: Uint8Array, header: string | undefined): boolean {
  const match = /^sha256=([0-9a-f]{64})$/.exec(header?.trim() ?? '')
  if (!match) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'))
}

export function sign(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** What a signed request proved: with Standard Webhooks, the id to remember against replays. */
export type SignatureCheck =
  | { ok: true; replayId?: { id: string; expiresAt: number } }
  | { ok: false; reason: string }

/**
 * The signature rules of a route with a secret: a request with `webhook-signature` is checked as
 * Standard Webhooks (and its id must then be remembered), any other by X-Piecework-Signature.
 */
export function checkSignature(
  secret: string,
  body: Uint8Array,
  header: (name: string) => string | undefined,
  now: number,
  toleranceMs: number,
): SignatureCheck {
  if (header('webhook-signature') !== undefined) {
    const verdict = verifyStandard(
      secret,
      {
        id: header('webhook-id'),
        timestamp: header('webhook-timestamp'),
        signature: header('webhook-signature'),
      },
      body,
      now,
      toleranceMs,
    )
    if (!verdict.ok) return verdict
    // a replay after the window fails on its timestamp; within it, on its id
    return {
      ok: true,
      replayId: { id: verdict.id, expiresAt: Math.max(now, verdict.timestampMs) + toleranceMs },
    }
  }
  const legacy = header('x-piecework-signature')
  if (legacy === undefined)
    return {
      ok: false,
      reason:
        'missing signature: send webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks) or X-Piecework-Signature',
    }
  if (!signatureValid(secret, body, legacy))
    return {
      ok: false,
      reason: 'wrong X-Piecework-Signature: expected sha256=<64 lowercase hex digits> of the raw body',
    }
  return { ok: true }
}
