// Workflows and their immutable versions. A definition whose hash equals the current version's is
// not stored again; any other change becomes the next version, and runs keep the version they began.
import type { Knex } from '@mikro-orm/knex'
import { ConflictError, NotFoundError } from '../errors.js'
import { KnownVersions } from './known-versions.js'
import type { HotReads } from './orm.js'

/** A process that deploys or deletes a workflow says so on this channel (payload: its id), on PostgreSQL. */
export const WORKFLOW_CHANGED_CHANNEL = 'piecework_workflow_changed'
/** A current version known without a read is kept at most this long (a notice may be lost unseen). */
const KNOWN_VERSION_MS = 1_000

/** A workflow's row: what every version shares. */
export interface WorkflowRow {
  id: string
  name: string | null
  currentVersion: number
  triggerKind: string
  createdAt: number
  updatedAt: number
  deletedAt: number | null
  /** When the workflow was paused: its triggers start nothing until it is resumed. */
  pausedAt: number | null
}

export interface StoredVersion {
  id: string
  version: number
  name: string | null
  triggerKind: string
  definition: unknown
  hash: string
  createdAt: number
  updatedAt: number
  /** When the workflow was paused; null while its triggers run. */
  pausedAt: number | null
}

export interface SaveResult {
  version: number
  /** False when the definition equals the current version. */
  created: boolean
}

/** A live workflow's current version, and whether it is paused. */
export interface CurrentVersion {
  version: number
  paused: boolean
}

const CURRENT_VERSION = 'select current_version, paused_at from workflows where id = ? and deleted_at is null'
const PAUSED = 'select paused_at from workflows where id = ? and deleted_at is null'
const CURRENT_VERSIONS =
  'select id, current_version from workflows where trigger_kind = ? and deleted_at is null'
const WORKFLOW_COLUMNS =
  'id, name, current_version, trigger_kind, created_at, updated_at, deleted_at, paused_at'

interface WorkflowColumns {
  id: string
  name: string | null
  current_version: number | string
  trigger_kind: string
  created_at: number | string
  updated_at: number | string
  deleted_at: number | string | null
  paused_at: number | string | null
}

const orNull = (value: number | string | null) => (value == null ? null : Number(value))

/** A row as read (PostgreSQL gives its bigints as text) in the shape the engine uses. */
function workflowRow(row: WorkflowColumns): WorkflowRow {
  return {
    id: row.id,
    name: row.name ?? null,
    currentVersion: Number(row.current_version),
    triggerKind: row.trigger_kind,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    deletedAt: orNull(row.deleted_at),
    pausedAt: orNull(row.paused_at),
  }
}

/**
 * Writes go through knex, not the ORM's unit of work: the ORM's flushes and transactions run in
 * an AsyncLocalStorage, and once one has, every promise of the process pays for its hook (an
 * await cost about six times as much afterwards). `reads`: the hot read of a run start (its
 * workflow's current version) goes outside knex.
 */
export class WorkflowStore {
  /**
   * The current versions (and pauses) this process knows without a read: what a child run starts
   * with, and on SQLite every run. On PostgreSQL only while other processes' changes are heard: the
   * engine listens for them on WORKFLOW_CHANGED_CHANNEL and tells this of each notice and of each
   * gap in hearing them.
   */
  readonly known: KnownVersions<CurrentVersion>

  constructor(
    private readonly knex: Knex,
    private readonly reads: HotReads,
    /** Whether other processes share the database (PostgreSQL): changes are then told on a channel. */
    private readonly shared = false,
  ) {
    this.known = new KnownVersions(!shared, KNOWN_VERSION_MS)
  }

  /** Stores a definition as the workflow's next version, unless it is unchanged. */
  async save(
    input: { id: string; name?: string; triggerKind: string; definition: unknown; hash: string },
    options: { mustExist?: boolean; mustNotExist?: boolean } = {},
  ): Promise<SaveResult> {
    const saved = await this.knex.transaction(async (trx): Promise<SaveResult> => {
      const now = Date.now()
      const current: { current_version: number | string; deleted_at: unknown } | undefined = await trx(
        'workflows',
      )
        .where({ id: input.id })
        .first('current_version', 'deleted_at')
      const live = current && current.deleted_at == null ? current : undefined
      if (options.mustExist && !live) throw new NotFoundError(`workflow '${input.id}' does not exist`)
      if (options.mustNotExist && live) throw new ConflictError(`workflow '${input.id}' exists already`)
      if (live) {
        const head: { hash: string } | undefined = await trx('workflow_versions')
          .where({ workflow_id: input.id, version: Number(live.current_version) })
          .first('hash')
        if (head?.hash === input.hash) return { version: Number(live.current_version), created: false }
      }
      const version = Number(current?.current_version ?? 0) + 1
      await trx('workflow_versions').insert({
        workflow_id: input.id,
        version,
        definition: JSON.stringify(input.definition),
        hash: input.hash,
        created_at: now,
      })
      const fields = {
        name: input.name ?? null,
        current_version: version,
        trigger_kind: input.triggerKind,
        updated_at: now,
        deleted_at: null,
      }
      // a workflow created again under a deleted one's id starts afresh, not paused
      if (current)
        await trx('workflows')
          .where({ id: input.id })
          .update(live ? fields : { ...fields, paused_at: null })
      else await trx('workflows').insert({ id: input.id, ...fields, created_at: now })
      await this.tellOthers(trx, input.id)
      return { version, created: true }
    })
    // known again only after the change is committed (a read meanwhile may have met the old version)
    if (saved.created) this.known.changed(input.id)
    return saved
  }

  /** The current version as this process knows it, read (and then known) when it does not. */
  async knownCurrentVersion(id: string): Promise<number> {
    return (await this.knownCurrent(id)).version
  }

  /**
   * The current version, and whether the workflow is paused, for a run started from outside. On
   * SQLite as this process knows it (one process per file: every change goes through this one); on
   * PostgreSQL read, so that a start follows a deploy or a pause that another process has just
   * committed, and not only once its notice arrives.
   */
  startingVersion(id: string): Promise<CurrentVersion> {
    return this.shared ? this.currentVersion(id) : this.knownCurrent(id)
  }

  private async knownCurrent(id: string): Promise<CurrentVersion> {
    const known = this.known.get(id)
    if (known !== undefined) return known
    const token = this.known.token()
    const current = await this.currentVersion(id)
    this.known.fill(id, current, token)
    return current
  }

  /** A change of a workflow's current version, told to the other processes by the transaction making it. */
  private async tellOthers(trx: Knex.Transaction, id: string): Promise<void> {
    // PostgreSQL delivers the notice when the transaction commits, and not at all if it does not
    if (this.shared) await trx.raw('select pg_notify(?, ?)', [WORKFLOW_CHANGED_CHANNEL, id])
  }

  /** One lean query: the hot path of starting a run asks it every time (and whether it is paused). */
  async currentVersion(id: string): Promise<CurrentVersion> {
    const row = await this.reads.first<{ current_version: number | string; paused_at: unknown }>(
      CURRENT_VERSION,
      [id],
    )
    if (!row) throw new NotFoundError(`workflow '${id}' does not exist`)
    return { version: Number(row.current_version), paused: row.paused_at != null }
  }

  /**
   * The current version of every live workflow of one trigger kind, in one lean query: what a
   * trigger asks often to notice changes made by another process.
   */
  async currentVersions(triggerKind: string): Promise<Map<string, number>> {
    const rows = await this.reads.all<{ id: string; current_version: number | string }>(CURRENT_VERSIONS, [
      triggerKind,
    ])
    return new Map(rows.map((row) => [row.id, Number(row.current_version)]))
  }

  async get(id: string, version?: number): Promise<StoredVersion> {
    const found = await this.reads.first<WorkflowColumns>(
      `select ${WORKFLOW_COLUMNS} from workflows where id = ?`,
      [id],
    )
    const workflow = found && workflowRow(found)
    if (!workflow || (workflow.deletedAt != null && version === undefined)) {
      throw new NotFoundError(`workflow '${id}' does not exist`)
    }
    const wanted = version ?? workflow.currentVersion
    const row = await this.reads.first<{ definition: string; hash: string; created_at: number | string }>(
      'select definition, hash, created_at from workflow_versions where workflow_id = ? and version = ?',
      [id, wanted],
    )
    if (!row) throw new NotFoundError(`workflow '${id}' has no version ${wanted}`)
    return toStored(workflow, wanted, row.definition, row.hash, Number(row.created_at))
  }

  async list(): Promise<WorkflowRow[]> {
    const rows = await this.reads.all<WorkflowColumns>(
      `select ${WORKFLOW_COLUMNS} from workflows where deleted_at is null order by id`,
      [],
    )
    return rows.map(workflowRow)
  }

  /** Pauses (its triggers stop) or resumes a live workflow; pausing a paused one keeps its time. */
  async setPaused(id: string, paused: boolean, now = Date.now()): Promise<void> {
    await this.knex.transaction(async (trx) => {
      const changed = await trx('workflows')
        .where({ id, deleted_at: null })
        .update({ paused_at: paused ? trx.raw('coalesce(paused_at, ?)', [now]) : null })
      if (changed === 0) throw new NotFoundError(`workflow '${id}' does not exist`)
      await this.tellOthers(trx, id)
    })
    // known again only after the change is committed
    this.known.changed(id)
  }

  /** Whether a live workflow is paused, in one lean query: asked before every start by a trigger. */
  async isPaused(id: string): Promise<boolean> {
    const row = await this.reads.first<{ paused_at: number | string | null }>(PAUSED, [id])
    return row?.paused_at != null
  }

  async remove(id: string): Promise<void> {
    await this.knex.transaction(async (trx) => {
      const changed = await trx('workflows')
        .where({ id, deleted_at: null })
        .update({ deleted_at: Date.now() })
      if (changed === 0) throw new NotFoundError(`workflow '${id}' does not exist`)
      await this.tellOthers(trx, id)
    })
    // known again only after the deletion is committed
    this.known.changed(id)
  }
}

function toStored(
  w: WorkflowRow,
  version: number,
  definition: string,
  hash: string,
  createdAt: number,
): StoredVersion {
  return {
    id: w.id,
    version,
    name: w.name ?? null,
    triggerKind: w.triggerKind,
    definition: JSON.parse(definition),
    hash,
    createdAt,
    updatedAt: w.updatedAt,
    pausedAt: w.pausedAt ?? null,
  }
}
