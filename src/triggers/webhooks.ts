// Webhook routing: which workflow owns which /hooks path, kept in step with deployments, and the
// signature check (HMAC-SHA256 of the raw body, compared in constant time).
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Engine } from '../runtime/engine.js'

export interface WebhookRoute {
  workflowId: string
  path: string
  method: string
  respond: 'immediately' | 'onComplete'
  secret?: string
}

export function normalisePath(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

export class WebhookRoutes {
  private routes = new Map<string, WebhookRoute>()

  private timer: NodeJS.Timeout | undefined

  constructor(private readonly engine: Engine) {
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

/** `X-Piecework-Signature: sha256=<hex>` over the raw body. */
export function signatureValid(secret: string, body: Uint8Array, header: string | undefined): boolean {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header?.trim() ?? '')
  if (!match) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'))
}

export function sign(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}
