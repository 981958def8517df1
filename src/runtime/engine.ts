// The engine: wires the database, the worker pool and the pieces together, and gives each run a
// supervisor. Its methods are the programmatic API that the CLI and the HTTP layer both use.
// Runs that only wait leave memory (passivation); a poller brings them back when a timer is due,
// and takes over runs whose process died (leases).
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { availableParallelism } from 'node:os'
import { type CompiledWorkflow, compileWorkflow } from '../definition/compile.js'
import { ConflictError, NotFoundError, ValidationError } from '../errors.js'
import type { Credentials } from '../piece-sdk/define.js'
import { loadPieces, type PieceRegistry } from '../piece-sdk/registry.js'
import { type PieceSource, resolvePieceSources } from '../piece-sdk/sources.js'
import { CheckpointWriter, checkpointExecutor, type NewRunRow, type StepRow } from '../store/checkpoints.js'
import { Leases } from '../store/leases.js'
import { type Database, HotReads, openDatabase } from '../store/orm.js'
import { type RunView, readRun } from '../store/runs.js'
import { WorkflowStore } from '../store/workflows.js'
import { normalisePath } from '../triggers/webhooks.js'
import { WorkerPool } from '../workers/pool.js'
import type { LogLevel } from '../workers/protocol.js'
import { StepDispatcher } from './dispatch.js'
import { resetForRetry, restoreRunState } from './restore.js'
import { newStepState, RUN_ENDED, type RunState, type StepState } from './state.js'
import { Supervisor } from './supervisor.js'
import { Timers } from './timers.js'

export interface EngineOptions {
  databaseUrl: string
  threads?: number
  stepTimeoutMs?: number
  memoryLimitMb?: number
  maxOutputBytes?: number
  /** Pieces besides the built-ins: folders and npm packages (the config's `pieces`). */
  pieces?: PieceSource[]
  /** Per piece name, the values a piece that declares `auth` gets (never stored or logged). */
  credentials?: Record<string, Credentials>
  /** How long a process holds its runs without renewing (default 15 s). */
  leaseMs?: number
  /** A run whose next timer is further away than this leaves memory (default 2 s). */
  passivateAfterMs?: number
  /** How often due timers and orphaned runs are looked for (default 500 ms). */
  pollMs?: number
  /** Whether pure built-in actions run on the engine's thread (default true; false is for measuring). */
  inlineBuiltins?: boolean
}

export const ENGINE_DEFAULTS = {
  threads: Math.max(2, availableParallelism()),
  stepTimeoutMs: 5 * 60_000,
  memoryLimitMb: 256,
  maxOutputBytes: 4 * 1024 * 1024,
  leaseMs: 15_000,
  passivateAfterMs: 2_000,
  pollMs: 500,
}

export interface EngineEvents {
  step: [runId: string, step: StepState]
  run: [runId: string, state: RunState]
  log: [runId: string, stepId: string | null, level: LogLevel, msg: string, data: unknown]
  /** A run was recorded and its supervisor started. */
  started: [runId: string, workflowId: string]
  /** A workflow was created, changed or deleted: triggers re-read it. */
  workflow: [workflowId: string]
}

export interface DeployResult {
  workflow: CompiledWorkflow
  version: number
  created: boolean
}

const CLAIM_BATCH = 200

export class Engine {
  readonly events = new EventEmitter<EngineEvents>()
  readonly workflows: WorkflowStore
  readonly owner = randomUUID()
  private readonly writer: CheckpointWriter
  /** Reads on the hot paths (a run's start, a run read back) outside knex's query building. */
  private readonly reads: HotReads
  private readonly dispatcher: StepDispatcher
  private readonly leases: Leases
  private readonly timers = new Timers()
  private readonly supervisors = new Map<string, Supervisor>()
  private readonly compiled = new Map<string, CompiledWorkflow>()
  private readonly endWaiters = new Map<string, Set<(state: RunState) => void>>()
  /** Runs in flight and runs waiting their turn, per workflow with a `concurrency` limit. */
  private readonly gates = new Map<string, { active: Set<string>; queue: Supervisor[] }>()
  private readonly limits: { stepTimeoutMs: number; maxOutputBytes: number }
  private readonly options: Required<Pick<EngineOptions, 'passivateAfterMs' | 'pollMs'>>
  private readonly credentialValues: Record<string, Credentials>
  private poller: NodeJS.Timeout | undefined
  private renewer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private accepting = true

  private constructor(
    readonly db: Database,
    readonly registry: PieceRegistry,
    readonly pool: WorkerPool,
    options: EngineOptions,
    /** Configured pieces left out because they are broken and marked `onError: skip`. */
    readonly skippedPieces: { origin: string; message: string }[] = [],
  ) {
    this.reads = new HotReads(db)
    this.workflows = new WorkflowStore(db.orm, this.reads)
    this.dispatcher = new StepDispatcher(registry, pool, options.inlineBuiltins ?? true)
    this.credentialValues = options.credentials ?? {}
    this.writer = new CheckpointWriter(checkpointExecutor(db))
    this.leases = new Leases(db.knex, this.owner, options.leaseMs ?? ENGINE_DEFAULTS.leaseMs)
    this.limits = {
      stepTimeoutMs: options.stepTimeoutMs ?? ENGINE_DEFAULTS.stepTimeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? ENGINE_DEFAULTS.maxOutputBytes,
    }
    this.options = {
      passivateAfterMs: options.passivateAfterMs ?? ENGINE_DEFAULTS.passivateAfterMs,
      pollMs: options.pollMs ?? ENGINE_DEFAULTS.pollMs,
    }
    this.events.setMaxListeners(0)
    this.events.on('run', (runId, state) => {
      if (!RUN_ENDED.has(state.status)) return
      for (const wake of this.endWaiters.get(runId) ?? []) wake(state)
      this.endWaiters.delete(runId)
      this.releaseGate(runId)
    })
  }

  /** A run that ended (or never came to be) frees its place under its workflow's `concurrency`. */
  private releaseGate(runId: string): void {
    for (const gate of this.gates.values()) {
      gate.queue = gate.queue.filter((s) => s.state.id !== runId)
      if (!gate.active.delete(runId)) continue
      const next = gate.queue.shift()
      if (next) void this.admit(next)
    }
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const sources = resolvePieceSources(options.pieces ?? [])
    // the worker threads start first: their start-up overlaps the database's
    const pool = new WorkerPool({
      threads: options.threads ?? ENGINE_DEFAULTS.threads,
      memoryLimitMb: options.memoryLimitMb ?? ENGINE_DEFAULTS.memoryLimitMb,
      pieceFiles: sources.files.map((f) => f.file),
      credentials: options.credentials,
    })
    const [db, loaded] = await Promise.allSettled([
      openDatabase(options.databaseUrl),
      loadPieces(sources.files),
    ])
    if (db.status === 'fulfilled' && loaded.status === 'fulfilled') {
      return new Engine(db.value, loaded.value.registry, pool, options, [
        ...sources.skipped,
        ...loaded.value.skipped,
      ])
    }
    // nothing stays in flight when the start fails: the process can end cleanly
    await pool.close()
    if (db.status === 'fulfilled') await db.value.close()
    throw loaded.status === 'rejected' ? loaded.reason : (db as PromiseRejectedResult).reason
  }

  /** Which of a piece's credential fields have a value, never the values (for the piece catalogue). */
  credentialsPresent(piece: string): Credentials {
    const values = this.credentialValues[piece] ?? {}
    return Object.fromEntries(
      Object.entries(values)
        .filter(([, value]) => value)
        .map(([key]) => [key, 'set']),
    )
  }

  /** Checks a definition; throws a ValidationError listing every problem. */
  compile(definition: unknown): CompiledWorkflow {
    return compileWorkflow(definition, this.registry)
  }

  async deploy(
    definition: unknown,
    options: { mustExist?: boolean; mustNotExist?: boolean } = {},
  ): Promise<DeployResult> {
    const workflow = this.compile(definition)
    if (workflow.trigger.kind === 'webhook') await this.checkWebhookPath(workflow)
    const { version, created } = await this.workflows.save(
      {
        id: workflow.id,
        name: workflow.definition.name,
        triggerKind: workflow.trigger.kind,
        definition: workflow.definition,
        hash: workflow.hash,
      },
      options,
    )
    this.compiled.set(`${workflow.id}@${version}`, workflow)
    return { workflow, version, created }
  }

  async workflowVersion(
    id: string,
    version?: number,
  ): Promise<{ workflow: CompiledWorkflow; version: number }> {
    // another process may have stored a newer version: the current one is read on every run start
    version ??= await this.workflows.currentVersion(id)
    const cached = this.compiled.get(`${id}@${version}`)
    if (cached) return { workflow: cached, version }
    const stored = await this.workflows.get(id, version)
    const key = `${id}@${stored.version}`
    let workflow = this.compiled.get(key)
    if (!workflow) {
      workflow = this.compile(stored.definition)
      this.compiled.set(key, workflow)
    }
    return { workflow, version: stored.version }
  }

  /** The current version of every live workflow, optionally of one trigger kind. */
  async liveWorkflows(kind?: string): Promise<{ workflow: CompiledWorkflow; version: number }[]> {
    const rows = (await this.workflows.list()).filter((w) => kind === undefined || w.triggerKind === kind)
    return Promise.all(rows.map((w) => this.workflowVersion(w.id, w.currentVersion)))
  }

  /** Two workflows claiming one webhook path is a conflict at deploy time. */
  private async checkWebhookPath(workflow: CompiledWorkflow): Promise<void> {
    const path = normalisePath(String(workflow.trigger.props.path))
    for (const other of await this.liveWorkflows('webhook')) {
      if (other.workflow.id === workflow.id) continue
      if (normalisePath(String(other.workflow.trigger.props.path)) === path) {
        throw new ConflictError(`webhook path '${path}' belongs to workflow '${other.workflow.id}' already`, [
          { path: 'trigger.with.path', message: `taken by workflow '${other.workflow.id}'` },
        ])
      }
    }
  }

  workflowChanged(workflowId: string): void {
    this.events.emit('workflow', workflowId)
  }

  /** Starts resuming unfinished runs and polling for due timers. */
  async start(): Promise<number> {
    // on SQLite only this process uses the file: whatever another owner held is ours now
    const resumed = await this.poll(this.db.kind === 'sqlite')
    this.poller = setInterval(() => void this.poll(this.db.kind === 'sqlite'), this.options.pollMs)
    this.renewer = setInterval(
      () => void this.leases.renew(Date.now()).catch(() => {}),
      this.leases.leaseMs / 3,
    )
    this.poller.unref()
    this.renewer.unref()
    return resumed
  }

  /** Starts a run: resolves once its row and its first steps are durable, before any step runs. */
  async startRun(workflowId: string, input: unknown, options: { version?: number; id?: string } = {}) {
    if (!this.accepting) throw new ConflictError('the engine is shutting down')
    const { workflow, version } = await this.workflowVersion(workflowId, options.version)
    const id = options.id ?? randomUUID()
    if (this.supervisors.has(id)) throw new ConflictError(`run '${id}' exists already`)
    const now = Date.now()
    const row: NewRunRow = {
      id,
      workflow_id: workflow.id,
      workflow_version: version,
      status: 'queued',
      input: JSON.stringify(input ?? null),
      created_at: now,
      owner: this.owner,
      lease_until: now + this.leases.leaseMs,
    }
    const state: RunState = {
      id,
      status: 'queued',
      steps: new Map(workflow.steps.map((s) => [s.id, newStepState(s.id)])),
    }
    const supervisor = this.spawn(workflow, version, state, input ?? null)
    // the run's row goes into the checkpoint of its first steps: one commit, not two
    const admitted = this.admit(supervisor, row)
    const status = state.status
    try {
      await admitted
    } catch (error) {
      // its row is not stored: the run never existed
      if (this.supervisors.get(id) === supervisor) this.supervisors.delete(id)
      this.releaseGate(id)
      throw error
    }
    this.events.emit('started', id, workflow.id)
    return { id, status }
  }

  private spawn(workflow: CompiledWorkflow, version: number, state: RunState, trigger: unknown): Supervisor {
    const supervisor = new Supervisor(workflow, version, state, trigger, {
      steps: this.dispatcher,
      writer: this.writer,
      timers: this.timers,
      now: Date.now,
      accepting: () => this.accepting,
      limits: this.limits,
      observer: {
        step: (runId, step) => this.events.emit('step', runId, step),
        run: (runId, s) => this.events.emit('run', runId, s),
        log: (runId, stepId, level, msg, data) => this.events.emit('log', runId, stepId, level, msg, data),
        settled: (s) => this.settled(s),
      },
    })
    this.supervisors.set(state.id, supervisor)
    void supervisor.done.then(() => this.supervisors.delete(state.id))
    return supervisor
  }

  /**
   * Starts a queued run, unless its workflow's `concurrency` is reached in this process: then it
   * stays `queued` until a run of that workflow ends.
   */
  private admit(supervisor: Supervisor, inserting?: NewRunRow): Promise<void> {
    const limit = supervisor.workflow.definition.concurrency
    if (limit === undefined) return supervisor.start(inserting)
    const stored = () => (inserting ? this.writer.write({ newRuns: [inserting] }) : Promise.resolve())
    if (RUN_ENDED.has(supervisor.state.status)) return stored()
    const gate = this.gates.get(supervisor.workflow.id) ?? { active: new Set<string>(), queue: [] }
    this.gates.set(supervisor.workflow.id, gate)
    if (gate.active.size >= limit) {
      gate.queue.push(supervisor)
      return stored()
    }
    // released on the run's end event, which comes whichever supervisor (or passivated life) ends it
    gate.active.add(supervisor.state.id)
    return supervisor.start(inserting)
  }

  /** A run with nothing but distant timers leaves memory; its due times stay in the database. */
  private settled(supervisor: Supervisor): void {
    // without the poller (an engine that was never started, as in `piecework run`) nothing would wake it
    if (!this.poller) return
    const next = supervisor.nextWake()
    if (next === undefined || next - Date.now() < this.options.passivateAfterMs) return
    if (this.supervisors.get(supervisor.state.id) !== supervisor) return
    supervisor.passivate()
    this.supervisors.delete(supervisor.state.id)
    void this.writer.write({ runs: [{ id: supervisor.state.id, owner: null, lease_until: null }] })
  }

  /** Claims runs that are due or orphaned, and resumes them. Returns how many it resumed. */
  private poll(ignoreLeases: boolean): Promise<void> & Promise<number> {
    if (this.polling) return this.polling.then(() => 0) as Promise<void> & Promise<number>
    const run = async () => {
      let total = 0
      while (this.accepting) {
        const ids = await this.leases.claim({
          now: Date.now(),
          horizonMs: Math.min(1000, this.options.passivateAfterMs),
          limit: CLAIM_BATCH,
          ignoreLeases,
        })
        const fresh = ids.filter((id) => !this.supervisors.has(id))
        for (const supervisor of await this.restoreMany(fresh)) {
          if (supervisor.state.status === 'queued') void this.admit(supervisor)
          else supervisor.resume()
        }
        total += fresh.length
        if (fresh.length === 0 || ids.length < CLAIM_BATCH) break
      }
      return total
    }
    const polling = run().catch(() => 0)
    this.polling = polling.then(() => undefined)
    void polling.finally(() => {
      this.polling = undefined
    })
    return polling as Promise<void> & Promise<number>
  }

  /** Rebuilds stored runs' supervisors from their checkpoints. */
  private async restoreMany(ids: string[], prepare?: (state: RunState) => void): Promise<Supervisor[]> {
    if (ids.length === 0) return []
    const runs: Record<string, unknown>[] = await this.db.knex('runs').whereIn('id', ids)
    const rows: StepRow[] = await this.db.knex('step_states').whereIn('run_id', ids)
    const byRun = new Map<string, StepRow[]>()
    for (const row of rows) byRun.set(row.run_id, [...(byRun.get(row.run_id) ?? []), row])
    const supervisors: Supervisor[] = []
    for (const run of runs) {
      const id = run.id as string
      const { workflow, version } = await this.workflowVersion(
        run.workflow_id as string,
        Number(run.workflow_version),
      )
      const state = restoreRunState(
        workflow,
        { id, status: run.status as RunState['status'] },
        byRun.get(id) ?? [],
      )
      prepare?.(state)
      const input = run.input === null ? null : JSON.parse(run.input as string)
      supervisors.push(this.spawn(workflow, version, state, input))
    }
    return supervisors
  }

  private async restore(id: string, prepare?: (state: RunState) => void): Promise<Supervisor> {
    const [supervisor] = await this.restoreMany([id], prepare)
    if (!supervisor) throw new NotFoundError(`run '${id}' does not exist`)
    return supervisor
  }

  /** Resolves with the run's state once it has ended in this process, or with undefined after `ms`. */
  private waitForEnd(id: string, ms: number): { promise: Promise<RunState | undefined>; cancel: () => void } {
    let timer: NodeJS.Timeout | undefined
    let wake!: (state: RunState) => void
    const promise = new Promise<RunState | undefined>((resolve) => {
      wake = resolve
      timer = setTimeout(() => resolve(undefined), ms)
    })
    const waiters = this.endWaiters.get(id) ?? new Set()
    waiters.add(wake)
    this.endWaiters.set(id, waiters)
    const cancel = () => {
      clearTimeout(timer)
      waiters.delete(wake)
      if (waiters.size === 0) this.endWaiters.delete(id)
    }
    return {
      promise: promise.then((state) => {
        cancel()
        return state
      }),
      cancel,
    }
  }

  /**
   * How a run ended, waiting up to `ms`: from memory when it ends in this process (its checkpoint is
   * durable by then), else as stored. What a webhook with `respond: onComplete` answers.
   */
  async awaitOutcome(id: string, ms: number): Promise<Pick<RunView, 'status' | 'output' | 'error'>> {
    if (!this.supervisors.has(id)) return this.getRun(id, ms)
    const wait = this.waitForEnd(id, ms)
    const ended = await wait.promise
    if (!ended) return this.getRun(id)
    return { status: ended.status, output: ended.output ?? null, error: ended.error ?? null }
  }

  /** The run as stored; waits up to `waitMs` for it to end first. */
  async getRun(id: string, waitMs = 0): Promise<RunView> {
    const wait = waitMs > 0 ? this.waitForEnd(id, waitMs) : undefined
    const first = await this.readRun(id).catch((error) => {
      wait?.cancel()
      throw error
    })
    if (!wait || RUN_ENDED.has(first.status)) {
      wait?.cancel()
      return first
    }
    await wait.promise
    return this.readRun(id)
  }

  private readRun(id: string): Promise<RunView> {
    return readRun(this.reads, id, async (workflowId, version) => {
      const { workflow } = await this.workflowVersion(workflowId, version)
      return workflow.steps.map((s) => s.id)
    })
  }

  /** Deploys a definition and runs it once to its end: what `piecework run` does. */
  async runOnce(definition: unknown, input: unknown): Promise<RunView> {
    const { workflow, version } = await this.deploy(definition)
    if (workflow.trigger.kind !== 'manual' && workflow.trigger.kind !== 'webhook') {
      throw new ValidationError(`workflow '${workflow.id}' has a ${workflow.trigger.kind} trigger`)
    }
    const { id } = await this.startRun(workflow.id, input, { version })
    return this.getRun(id, 2 ** 31 - 1)
  }

  /** Cancels a run that has not ended, in memory or passivated. */
  async cancelRun(id: string): Promise<void> {
    const live = this.supervisors.get(id) ?? (await this.restore(id))
    live.cancel()
    await live.done
  }

  /** A failed run goes on from its failed steps; what succeeded is not run again. */
  async retryRun(id: string): Promise<void> {
    if (this.supervisors.has(id)) throw new ConflictError(`run ${id} has not ended`)
    const supervisor = await this.restore(id, (state) => {
      if (state.status !== 'failed')
        throw new ConflictError(`run ${id} is ${state.status}: only failed runs can be retried`)
      resetForRetry(state)
    })
    await this.writer.write({
      runs: [
        {
          id,
          status: 'running',
          error: null,
          output: null,
          finished_at: null,
          owner: this.owner,
          lease_until: Date.now() + this.leases.leaseMs,
        },
      ],
      steps: [...supervisor.state.steps.values()]
        .filter((s) => s.status === 'pending')
        .map((s) => supervisor.row(s)),
    })
    supervisor.resume()
  }

  get activeRuns(): number {
    return this.supervisors.size
  }

  get checkpointStats() {
    return this.writer.stats
  }

  /**
   * Stops taking new work and lets steps in workers finish for up to `graceMs`; what did not finish
   * stays checkpointed as running and runs again on the next start.
   */
  async close(graceMs = 0): Promise<void> {
    this.accepting = false
    clearInterval(this.poller)
    clearInterval(this.renewer)
    const deadline = Date.now() + graceMs
    while (Date.now() < deadline && [...this.supervisors.values()].some((s) => s.inFlight > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await this.polling
    this.timers.clear()
    await this.writer.drain()
    // runs still held go back to the pool of claimable runs at once
    await this.db
      .knex('runs')
      .where({ owner: this.owner })
      .update({ owner: null, lease_until: null })
      .catch(() => {})
    await this.pool.close()
    await this.db.close()
  }
}
