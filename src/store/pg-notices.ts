// LISTEN/NOTIFY on PostgreSQL: a connection of its own listens, and is opened again whenever it
// drops (a restarted server, a terminated backend); notifications go out over knex's pool. They are
// hints: one lost while the database is away costs a moment of delay, never a wrong answer, so no
// failure here ever reaches a caller.
import type { Knex } from 'knex'
import { pgQuery } from './orm.js'

/** What the rest of the engine sees: a channel to listen on and one to notify. */
export interface Notices {
  /**
   * `hearing` is told when notices on the channel are heard from now on (true), and when they may
   * go unheard from now on (false: the listening connection dropped), for whoever must not rely on
   * them meanwhile.
   */
  listen(channel: string, handler: (payload: string) => void, hearing?: (on: boolean) => void): void
  notify(channel: string, payload: string): void
}

interface ListeningClient {
  query(text: string): Promise<unknown>
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): void
  on(event: 'error' | 'end', listener: () => void): void
}

/** Pauses before opening the listening connection again (the last one repeats). */
const RECONNECT_MS = [100, 500, 2_000, 5_000]

export class PgNotices implements Notices {
  private readonly handlers = new Map<string, (payload: string) => void>()
  private readonly hearing = new Map<string, (on: boolean) => void>()
  private client: ListeningClient | undefined
  private connecting = false
  private failures = 0
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly knex: Knex,
    private readonly report: (error: unknown) => void = () => {},
  ) {}

  listen(channel: string, handler: (payload: string) => void, hearing?: (on: boolean) => void): void {
    this.handlers.set(channel, handler)
    if (hearing) this.hearing.set(channel, hearing)
    const client = this.client
    if (client)
      void client.query(`listen ${channel}`).then(
        () => client === this.client && hearing?.(true),
        () => this.dropped(),
      )
    else this.connect()
  }

  notify(channel: string, payload: string): void {
    if (this.closed) return
    pgQuery(this.knex, 'select pg_notify($1, $2)', [channel, payload]).catch(this.report)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    const client = this.client
    this.client = undefined
    for (const hearing of this.hearing.values()) hearing(false)
    if (client) await this.knex.client.destroyRawConnection(client).catch(() => {})
  }

  private connect(): void {
    if (this.connecting || this.closed) return
    this.connecting = true
    void this.open().finally(() => {
      this.connecting = false
    })
  }

  private async open(): Promise<void> {
    let client: ListeningClient | undefined
    try {
      client = (await this.knex.client.acquireRawConnection()) as ListeningClient
      const own = client
      // knex keeps an 'error' listener of its own on the connection: an error never goes unheard
      client.on('notification', (message) => {
        if (own === this.client) this.handlers.get(message.channel)?.(message.payload ?? '')
      })
      client.on('error', () => this.dropped(own))
      client.on('end', () => this.dropped(own))
      for (const channel of this.handlers.keys()) await client.query(`listen ${channel}`)
      if (this.closed) throw new Error('closed')
      this.client = client
      this.failures = 0
      for (const hearing of this.hearing.values()) hearing(true)
    } catch (error) {
      if (!this.closed) this.report(error)
      if (client) await this.knex.client.destroyRawConnection(client).catch(() => {})
      this.retry()
    }
  }

  private dropped(client = this.client): void {
    if (!client || client !== this.client) return
    this.client = undefined
    for (const hearing of this.hearing.values()) hearing(false)
    void this.knex.client.destroyRawConnection(client).catch(() => {})
    this.retry()
  }

  private retry(): void {
    if (this.closed) return
    const pause = RECONNECT_MS[Math.min(this.failures++, RECONNECT_MS.length - 1)]
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.connect(), pause)
    this.timer.unref()
  }
}
