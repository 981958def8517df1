// The engine's named secrets: those of the configuration (`secrets.values`) and those stored through
// the API (sealed in the `secrets` table). Values are read when a step is dispatched, never stored
// with a run; every value this process ever handed out is scrubbed from what runs record.
import type { Knex } from '@mikro-orm/knex'
import { ConflictError, EngineError, NotFoundError } from '../errors.js'
import {
  deleteSecretRow,
  putSecretRow,
  resealSecretRow,
  type SecretRow,
  secretRows,
} from '../store/secrets.js'
import { Redactor, valueForms } from '../workers/redact.js'
import { open, parseKey, type SecretKey, seal } from './cipher.js'

export interface SecretOptions {
  /** Named values from the configuration: read-only through the API. */
  values?: Record<string, string>
  /** The key that seals stored secrets (32 bytes, hex or base64); without it none can be stored. */
  key?: string
  /** Keys that sealed secrets before: rows under them are sealed again under `key` at open. */
  previousKeys?: string[]
}

export interface SecretInfo {
  name: string
  source: 'config' | 'api'
  createdAt: number | null
  updatedAt: number | null
}

/** What runs need of the secrets: their values by name, and the scrubber of every value. */
export interface SecretAccess {
  resolve(name: string): Promise<string>
  readonly redactor: Redactor
}

/** A stored secret another process wrote is seen here within this long. */
const FRESH_MS = 1000

export class SecretNotFoundError extends EngineError {
  constructor(name: string) {
    super(
      'SECRET_NOT_FOUND',
      `secret '${name}' is not defined (secrets.values or PUT /api/v1/secrets/${name})`,
      {
        level: 'info',
      },
    )
    this.name = 'SecretNotFoundError'
  }
}

export class SecretVault implements SecretAccess {
  private stored = new Map<string, { value: string; row: SecretRow }>()
  private loadedAt = 0
  private loading: Promise<void> | undefined
  /** Every value ever handed out or stored here: a rotated value may still come back from a step. */
  private readonly seen = new Set<string>()
  private scrubber = new Redactor([])

  private constructor(
    private readonly knex: Knex,
    private readonly config: ReadonlyMap<string, string>,
    private readonly key: SecretKey | undefined,
    private readonly keys: ReadonlyMap<string, SecretKey>,
  ) {
    this.remember(config.values())
  }

  /** Reads the stored secrets, sealing again under `key` those sealed under a previous key. */
  static async open(
    knex: Knex,
    options: SecretOptions = {},
  ): Promise<{ vault: SecretVault; resealed: number }> {
    const key = options.key ? parseKey(options.key, 'secrets.key') : undefined
    const keys = new Map<string, SecretKey>()
    ;(options.previousKeys ?? []).forEach((text, i) => {
      const old = parseKey(text, `secrets.previousKeys[${i}]`)
      keys.set(old.id, old)
    })
    if (key) keys.set(key.id, key)
    const vault = new SecretVault(knex, new Map(Object.entries(options.values ?? {})), key, keys)
    await vault.refresh()
    return { vault, resealed: await vault.reseal() }
  }

  /** Every scrubbable form of every secret value known here. */
  get redactor(): Redactor {
    return this.scrubber
  }

  /** Names known now, without reading the database (deploy-time checks). */
  has(name: string): boolean {
    return this.config.has(name) || this.stored.has(name)
  }

  async resolve(name: string): Promise<string> {
    const configured = this.config.get(name)
    if (configured !== undefined) return configured
    if (Date.now() - this.loadedAt > FRESH_MS || !this.stored.has(name)) await this.refresh(FRESH_MS / 10)
    const found = this.stored.get(name)
    if (!found) throw new SecretNotFoundError(name)
    return found.value
  }

  async list(): Promise<SecretInfo[]> {
    await this.refresh()
    const items: SecretInfo[] = [...this.config.keys()].map((name) => ({
      name,
      source: 'config',
      createdAt: null,
      updatedAt: null,
    }))
    for (const [name, { row }] of this.stored)
      if (!this.config.has(name))
        items.push({ name, source: 'api', createdAt: row.createdAt, updatedAt: row.updatedAt })
    return items.sort((a, b) => a.name.localeCompare(b.name))
  }

  async put(name: string, value: string): Promise<{ info: SecretInfo; created: boolean }> {
    this.refuseConfigured(name)
    if (!this.key)
      throw new ConflictError(
        'secrets cannot be stored: the server has no secrets.key (or PIECEWORK_SECRETS_KEY) to seal them with',
      )
    this.remember([value])
    const now = Date.now()
    const { created, createdAt } = await putSecretRow(this.knex, name, seal(this.key, name, value), now)
    await this.refresh()
    return { info: { name, source: 'api', createdAt, updatedAt: now }, created }
  }

  async delete(name: string): Promise<void> {
    this.refuseConfigured(name)
    if (!(await deleteSecretRow(this.knex, name))) throw new NotFoundError(`secret '${name}' does not exist`)
    await this.refresh()
  }

  /**
   * Reads every stored secret again; with `withinMs`, not if they were read that recently (or are
   * being read). Without it, a read that began earlier may miss a write just made: it is waited
   * for, and the secrets are read once more.
   */
  async refresh(withinMs = 0): Promise<void> {
    if (withinMs > 0 && Date.now() - this.loadedAt < withinMs) return
    if (this.loading) {
      if (withinMs > 0) return this.loading
      await this.loading.catch(() => {})
      // one begun since began after the caller's write
      if (this.loading) return this.loading
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined
    })
    return this.loading
  }

  private async load(): Promise<void> {
    const stored = new Map<string, { value: string; row: SecretRow }>()
    for (const row of await secretRows(this.knex)) {
      const known = this.stored.get(row.name)
      const same = known && known.row.iv === row.iv && known.row.data === row.data
      stored.set(row.name, { value: same ? known.value : this.openRow(row), row })
    }
    this.stored = stored
    this.loadedAt = Date.now()
    this.remember([...stored.values()].map((s) => s.value))
  }

  private openRow(row: SecretRow): string {
    const key = this.keys.get(row.keyId)
    if (!key)
      throw new EngineError(
        'SECRET_UNREADABLE',
        `stored secret '${row.name}' was sealed with key ${row.keyId}, which is neither secrets.key nor in secrets.previousKeys`,
      )
    return open(key, row.name, row)
  }

  /** Rows under a previous key are sealed under the current one: then that key may be dropped. */
  private async reseal(): Promise<number> {
    if (!this.key) return 0
    let resealed = 0
    for (const [name, { value, row }] of this.stored) {
      if (row.keyId === this.key.id) continue
      if (await resealSecretRow(this.knex, row, seal(this.key, name, value))) resealed++
    }
    if (resealed > 0) await this.refresh()
    return resealed
  }

  private refuseConfigured(name: string): void {
    if (this.config.has(name))
      throw new ConflictError(
        `secret '${name}' is set in the configuration (secrets.values.${name}): change it there`,
      )
  }

  private remember(values: Iterable<string>): void {
    const before = this.seen.size
    for (const value of values) this.seen.add(value)
    if (this.seen.size !== before) this.scrubber = new Redactor(valueForms(this.seen, base64Forms(this.seen)))
  }
}

/** `user:password` secrets travel base64-encoded in Basic auth: that form is scrubbed too. */
function base64Forms(values: Iterable<string>): string[] {
  return [...values].filter((v) => v.length >= 4).map((v) => Buffer.from(v).toString('base64'))
}
