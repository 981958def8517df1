// The engine: wires the database, the worker pool and the pieces together, and gives each run a
// supervisor. Its methods are the programmatic API that the CLI and the HTTP layer both use.
// Runs that only wait leave memory (passivation); a poller brings them back when a timer is due,
// and takes over runs whose process died (leases).
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { CompiledWorkflow } from '../definition/compile.js'
import type { Edge } from '../definition/graph.js'
import { definitionLimits } from '../definition/limits.js'
import { expressionLimits } from '../definition/template.js'
import { ConflictError, EngineError, NotFoundError, ValidationError } from '../errors.js'
import type { Credentials } from '../piece-sdk/define.js'
import { loadPieces, type PieceRegistry } from '../piece-sdk/registry.js'
import { resolvePieceSources } from '../piece-sdk/sources.js'
import { scrubbingExecutor } from '../secrets/scrub.js'
import { SecretVault } from '../secrets/vault.js'
import { takePlace } from '../store/admission.js'
import {
  CheckpointWriter,
  checkpointExecutor,
  LeaseLostError,
  withoutUndefined,
} from '../store/checkpoints.js'
import { type Claimed, Leases } from '../store/leases.js'
import { type Database, HotReads, openDatabase } from '../store/orm.js'
import { PgNotices } from '../store/pg-notices.js'
import { type RunView, readOutcome, readRun } from '../store/runs.js'
import { endedItems, SignalInbox, untakenSignalsOf, waitedChildren } from '../store/signals.js'
import { stepRow } from '../store/step-rows.js'
import { forgetItems, readStoredRuns, runExists } from '../store/stored-runs.js'
import { WORKFLOW_CHANGED_CHANNEL, WorkflowStore } from '../store/workflows.js'
import { ConcurrencyLines } from './concurrency-lines.js'
import { type LeaseCheck, placeOf, StepDispatcher } from './dispatch.js'
import { Executors } from './executors.js'
import { withStoredInputs } from './join.js'
import { RunChanges } from './run-changes.js'
import { RunRecovery } from './run-recovery.js'
import { RunStarts, type StartOptions } from './run-starts.js'
import { RunTakes } from './run-takes.js'
import { type EndWait, RunWaiters } from './run-waiters.js'
import { type DeployResult, WorkflowCatalog } from './workflow-catalog.js'

export type { DeployResult } from './workflow-catalog.js'

import { ENGINE_DEFAULTS, type EngineEvents, type EngineOptions, stepUses } from './engine-options.js'
import { resetForRetry, restoreRunState } from './restore.js'
import { SignalDelivery } from './signal-delivery.js'
import { RUN_ENDED, type RunState } from './state.js'
import { type RunLinks, Supervisor } from './supervisor.js'
import { Timers } from './timers.js'

export {
  ENGINE_DEFAULTS,
  type EngineEvents,
  type EngineOptions,
  type SandboxSettings,
} from './engine-options.js'

export class Engine {
  readonly workflows: WorkflowStore
  readonly owner = randomUUID()
  private readonly writer: CheckpointWriter
  /** Signals to runs, and runs woken by them. */
  private readonly signals: SignalDelivery
  /** Reads on the hot paths (a run's start, a run read back) outside knex's query building. */
  private readonly reads: HotReads
  private readonly dispatcher: StepDispatcher
  private readonly leases: Leases
  private readonly timers = new Timers()
  private readonly supervisors = new Map<string, Supervisor>()
  /** Runs being taken from the database and rebuilt here now: each is taken once at a time. */
  private readonly takes = new RunTakes()
  private readonly catalog: WorkflowCatalog
  private readonly endWaiters = new RunWaiters()
  /** Queued runs waiting for a place under their workflow's `concurrency`, oldest first. */
  private readonly lines: ConcurrencyLines
  private readonly limits: { stepTimeoutMs: number; maxOutputBytes: number; maxItems: number }
  private readonly options: Required<
    Pick<EngineOptions, 'passivateAfterMs' | 'maxInterruptions' | 'maxDepth'>
  >
  private readonly links: RunLinks
  private readonly credentialValues: Record<string, Credentials>
  private readonly recovery: RunRecovery
  private readonly starts: RunStarts
  /** Child runs whose end their parent took in memory: it needs no waking when the end is stored. */
  private readonly handedOver = new Set<string>()
  /** The leases as steps see them: checked before a step with effects begins. */
  private readonly leaseCheck: LeaseCheck = {
    valid: () => this.recovery.leaseValid(),
    confirm: (givenUp) => this.recovery.confirm(givenUp),
  }
  private accepting = true
  /** Who is told that a run changed (its event streams), here and across processes on PostgreSQL. */
  readonly changes: RunChanges
  private readonly notices: PgNotices | undefined
  /** Stored secrets sealed again under `secrets.key` at open (their previous key may now go). */
  secretsResealed = 0

  private constructor(
    readonly db: Database,
    readonly registry: PieceRegistry,
    readonly executors: Executors,
    readonly events: EventEmitter<EngineEvents>,
    options: EngineOptions,
    /** Configured pieces left out because they are broken and marked `onError: skip`. */
    readonly skippedPieces: { origin: string; message: string }[],
    /** Named secrets: `$secret(name)`, `secretProps`, and the scrubbing of every record. */
    readonly secrets: SecretVault,
  ) {
    this.reads = new HotReads(db)
    this.workflows = new WorkflowStore(db.knex, this.reads, db.kind === 'postgres')
    this.dispatcher = new StepDispatcher(
      registry,
      executors,
      options.inlineBuiltins ?? true,
      secrets,
      this.leaseCheck,
    )
    this.credentialValues = options.credentials ?? {}
    this.catalog = new WorkflowCatalog(
      this.workflows,
      registry,
      {
        expressions: expressionLimits(options.expressions),
        limits: definitionLimits(options.limits),
      },
      secrets,
    )
    this.notices = db.kind === 'postgres' ? new PgNotices(db.knex) : undefined
    // another process's deploy makes this one forget the version it knew
    const known = this.workflows.known
    this.notices?.listen(
      WORKFLOW_CHANGED_CHANNEL,
      (id) => known.changed(id),
      (on) => known.reset(on),
    )
    this.changes = new RunChanges(this.notices)
    this.writer = new CheckpointWriter(
      this.changes.observe(scrubbingExecutor(checkpointExecutor(db, this.owner), () => secrets.redactor)),
    )
    this.leases = new Leases(
      db.knex,
      this.owner,
      options.leaseMs ?? ENGINE_DEFAULTS.leaseMs,
      db.kind,
      this.reads,
    )
    this.signals = new SignalDelivery(new SignalInbox(db, this.reads), db.knex, {
      held: this.supervisors,
      accepting: () => this.accepting,
      leases: this.leases,
      takes: this.takes,
      resume: (claimed) => this.resumeClaimed(claimed),
      getRun: (id) => this.getRun(id),
    })
    const passivateAfterMs = options.passivateAfterMs ?? ENGINE_DEFAULTS.passivateAfterMs
    this.lines = new ConcurrencyLines({
      holds: (supervisor) => this.supervisors.get(supervisor.state.id) === supervisor,
      takePlace: (supervisor, limit) =>
        takePlace(
          this.db.knex,
          this.db.kind,
          { id: supervisor.state.id, workflowId: supervisor.workflow.id, owner: this.owner },
          limit,
        ),
      store: (row) => this.writer.write({ newRuns: [row] }),
    })
    this.recovery = new RunRecovery(
      this.leases,
      {
        held: this.supervisors,
        takes: this.takes,
        drop: (supervisor, reason, error) => this.drop(supervisor, reason, error),
        resume: (claimed) => this.resumeClaimed(claimed),
        cancel: (supervisor) => supervisor.cancel(),
        accepting: () => this.accepting,
      },
      {
        pollMs: options.pollMs ?? ENGINE_DEFAULTS.pollMs,
        horizonMs: Math.min(1000, passivateAfterMs),
        // on SQLite only this process uses the file: whatever another owner held is ours now
        ignoreLeases: db.kind === 'sqlite',
      },
      executors.leaseDeadline,
    )
    this.limits = {
      stepTimeoutMs: options.stepTimeoutMs ?? ENGINE_DEFAULTS.stepTimeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? ENGINE_DEFAULTS.maxOutputBytes,
      maxItems: options.maxItems ?? ENGINE_DEFAULTS.maxItems,
    }
    this.options = {
      passivateAfterMs,
      maxInterruptions: options.maxInterruptions ?? ENGINE_DEFAULTS.maxInterruptions,
      maxDepth: options.maxDepth ?? ENGINE_DEFAULTS.maxDepth,
    }
    this.starts = new RunStarts({
      owner: this.owner,
      leaseMs: this.leases.leaseMs,
      maxDepth: this.options.maxDepth,
      checkAccepting: () => this.checkAccepting(),
      holds: (id) => this.supervisors.has(id),
      stored: (id) => runExists(this.reads, id),
      version: (id, version) => this.workflowVersion(id, version),
      knownVersion: (id, version) => this.catalog.knownVersion(id, version),
      isPaused: (id) => this.workflows.isPaused(id),
      spawn: (workflow, version, state, trigger) => this.spawn(workflow, version, state, trigger),
      forget: (supervisor) => {
        const id = supervisor.state.id
        if (this.supervisors.get(id) === supervisor) this.supervisors.delete(id)
        this.lines.next()
      },
      admit: (supervisor, inserting) => this.lines.admit(supervisor, inserting),
      started: (id, workflowId) => this.events.emit('started', id, workflowId),
      drop: (supervisor, reason) => this.drop(supervisor, reason, undefined),
    })
    this.links = {
      startChild: (child) => this.starts.child(child),
      newChild: (child) => this.starts.newChild(child),
      waitingParent: (parent, childRunId) => {
        const supervisor = this.supervisors.get(parent.runId)
        if (!supervisor?.waitsForChild(parent.stepId, childRunId)) return undefined
        // on PostgreSQL another process may take the parent over once its lease runs out
        if (this.db.kind === 'postgres' && !this.recovery.leaseValid()) return undefined
        this.handedOver.add(childRunId)
        return { take: (outcome) => supervisor.childEnded(parent.stepId, outcome) }
      },
      endedItems: (runId, stepId) => endedItems(this.db.knex, runId, stepId),
      untakenSignals: (runId) => untakenSignalsOf(this.reads, runId),
      signalUrl: options.signalUrl,
      secrets,
      failureHandler: (workflowId, depth) => this.failureHandler(workflowId, depth),
    }
    this.events.setMaxListeners(0)
    this.events.on('run', (runId, state) => {
      if (!RUN_ENDED.has(state.status)) return
      this.endWaiters.ended(runId, state)
      this.lines.next()
      // the parent waiting for this run learns of its end; a run that failed stops its children
      // (unless it took that end in memory, in the commit that stored it)
      if (state.parent?.waits && !this.handedOver.delete(runId))
        void this.signals.wake(state.parent.runId).catch(() => {})
      if (state.status !== 'succeeded') void this.cancelChildren(runId).catch(() => {})
    })
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const sources = resolvePieceSources(options.pieces ?? [])
    const events = new EventEmitter<EngineEvents>()
    // threads and sandbox processes start when first needed (or at `warmUp`), never before a
    // start that may still fail
    const threads = options.threads ?? ENGINE_DEFAULTS.threads
    const executors = new Executors({
      threads,
      memoryLimitMb: options.memoryLimitMb ?? ENGINE_DEFAULTS.memoryLimitMb,
      sandbox: {
        ...ENGINE_DEFAULTS.sandbox,
        processes: threads + 1,
        ...withoutUndefined(options.sandbox ?? {}),
      },
      pieceFiles: sources.files.map((f) => f.file),
      credentials: options.credentials,
      onSandboxEvent: (event) => events.emit('sandbox', event),
    })
    const pieces = loadPieces(sources.files)
    const uses = (options.startSandboxFor ?? []).flatMap(stepUses)
    if (uses.length > 0) {
      // the pieces first, to know where the steps run: sandbox processes then start on another
      // core while this one opens the database (and close kills them if the start fails)
      const registry = await pieces.then(
        (p) => p.registry,
        () => undefined,
      )
      const inline = options.inlineBuiltins ?? true
      if (registry && uses.some((u) => registry.action(u) && placeOf(registry, u, inline) === 'sandbox'))
        executors.startSandbox()
    }
    const [db, loaded] = await Promise.allSettled([openDatabase(options.databaseUrl), pieces])
    const vault =
      db.status === 'fulfilled' &&
      (await SecretVault.open(db.value.knex, options.secrets).then(
        (opened) => opened,
        (error: unknown) => ({ error }),
      ))
    if (db.status === 'fulfilled' && loaded.status === 'fulfilled' && vault && 'vault' in vault) {
      const engine = new Engine(
        db.value,
        loaded.value.registry,
        executors,
        events,
        options,
        [...sources.skipped, ...loaded.value.skipped],
        vault.vault,
      )
      engine.secretsResealed = vault.resealed
      return engine
    }
    // nothing stays in flight when the start fails: the process can end cleanly
    await executors.close()
    if (db.status === 'fulfilled') await db.value.close()
    if (vault && 'error' in vault) throw vault.error
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
    return this.catalog.compile(definition)
  }

  deploy(
    definition: unknown,
    options: { mustExist?: boolean; mustNotExist?: boolean } = {},
  ): Promise<DeployResult> {
    return this.catalog.deploy(definition, options)
  }

  workflowVersion(
    id: string,
    version?: number,
  ): Promise<{ workflow: CompiledWorkflow; version: number; paused?: boolean }> {
    return this.catalog.version(id, version)
  }

  /** The current version of every live workflow, optionally of one trigger kind. */
  liveWorkflows(kind?: string): Promise<{ workflow: CompiledWorkflow; version: number }[]> {
    return this.catalog.live(kind)
  }

  workflowChanged(workflowId: string): void {
    this.events.emit('workflow', workflowId)
  }

  /** Starts resuming unfinished runs and polling for due timers. */
  start(): Promise<number> {
    return this.recovery.start()
  }

  /** Starts a run: resolves once its row and its first steps are durable, before any step runs. */
  startRun(workflowId: string, input: unknown, options: StartOptions = {}) {
    return this.starts.start(workflowId, input, options)
  }

  /** Leaves a run in memory without ending it; `release` lets go of its lease for the next poll. */
  private drop(supervisor: Supervisor, reason: string, error: unknown, release = false): void {
    const id = supervisor.state.id
    supervisor.stop()
    if (this.supervisors.get(id) === supervisor) this.supervisors.delete(id)
    this.lines.next()
    this.handedOver.delete(id)
    this.events.emit('dropped', id, reason, error)
    if (release) {
      const fence = { runId: id, epoch: supervisor.epoch }
      void this.writer.write({ runs: [{ id, owner: null, lease_until: null }], fence }).catch(() => {})
    }
  }

  private spawn(
    workflow: CompiledWorkflow,
    version: number,
    state: RunState,
    trigger: unknown,
    epoch = 1,
  ): Supervisor {
    const supervisor = new Supervisor(workflow, version, state, trigger, {
      steps: this.dispatcher,
      writer: this.writer,
      timers: this.timers,
      now: Date.now,
      accepting: () => this.accepting,
      limits: this.limits,
      links: this.links,
      observer: {
        step: (runId, step) => this.events.emit('step', runId, step),
        run: (runId, s) => this.events.emit('run', runId, s),
        log: (runId, stepId, level, msg, data) => this.events.emit('log', runId, stepId, level, msg, data),
        settled: (s) => this.settled(s),
      },
      leases: this.leaseCheck,
      // a parked step is brought back by the poller: without one (`piecework run`) nothing parks
      parkAfterMs: () => (this.recovery.started ? this.options.passivateAfterMs : undefined),
      writeFailed: (s, error) => {
        if (error instanceof LeaseLostError) this.drop(s, 'its lease was taken over', error)
        else this.drop(s, 'a checkpoint of it failed', error, true)
      },
    })
    supervisor.epoch = epoch
    this.supervisors.set(state.id, supervisor)
    void supervisor.done.then(() => {
      if (this.supervisors.get(state.id) === supervisor) this.supervisors.delete(state.id)
    })
    return supervisor
  }

  /**
   * A run with nothing but distant timers leaves memory; its due times stay in the database. One
   * that waits only for signals (a person, a child run) leaves once it has waited `passivateAfter`:
   * a child that ends at once finds its parent still here.
   */
  private settled(supervisor: Supervisor): void {
    // without the poller (an engine that was never started, as in `piecework run`) nothing would wake it
    if (!this.recovery.started) return
    const next = supervisor.nextWake()
    if (next === undefined || next - Date.now() < this.options.passivateAfterMs) return
    if (this.supervisors.get(supervisor.state.id) !== supervisor) return
    if (next === Number.POSITIVE_INFINITY && !this.idleChecks.has(supervisor)) {
      this.idleChecks.add(supervisor)
      setTimeout(() => {
        this.idleChecks.delete(supervisor)
        if (supervisor.nextWake() === Number.POSITIVE_INFINITY) this.leaveMemory(supervisor)
      }, this.options.passivateAfterMs).unref()
      return
    }
    if (next !== Number.POSITIVE_INFINITY) this.leaveMemory(supervisor)
  }

  /** Runs waiting only for signals, to be looked at again once they have waited `passivateAfter`. */
  private readonly idleChecks = new WeakSet<Supervisor>()

  private leaveMemory(supervisor: Supervisor): void {
    if (this.supervisors.get(supervisor.state.id) !== supervisor || supervisor.isStopped) return
    supervisor.passivate()
    this.supervisors.delete(supervisor.state.id)
    const fence = { runId: supervisor.state.id, epoch: supervisor.epoch }
    void this.writer
      .write({ runs: [{ id: supervisor.state.id, owner: null, lease_until: null }], fence })
      .catch(() => {})
  }

  /** Rebuilds runs just claimed and starts or resumes them, under their workflow's `concurrency`. */
  private async resumeClaimed(claimed: Claimed[]): Promise<void> {
    // steps of a run whose process died count as interrupted; not those of a run let go cleanly
    const takenOver = new Set(claimed.filter((c) => c.takenOver).map((c) => c.id))
    const epochs = new Map(claimed.map((c) => [c.id, c.epoch]))
    for (const supervisor of await this.restoreMany([...epochs.keys()], undefined, epochs)) {
      if (supervisor.state.status === 'queued') void this.lines.admit(supervisor)
      else supervisor.resume(takenOver.has(supervisor.state.id) ? this.options.maxInterruptions : undefined)
    }
    // a run of another process may have ended and freed a place under a `concurrency` limit
    this.lines.next()
  }

  /** Rebuilds stored runs' supervisors from their checkpoints. */
  private async restoreMany(
    ids: string[],
    prepare?: (state: RunState) => void,
    epochs?: Map<string, number>,
  ): Promise<Supervisor[]> {
    const supervisors: Supervisor[] = []
    for (const run of await readStoredRuns(this.reads, ids)) {
      try {
        if ('unreadable' in run) throw run.unreadable
        const { workflow, version } = await this.workflowVersion(run.workflowId, run.workflowVersion)
        const state = restoreRunState(workflow, run, run.steps)
        prepare?.(state)
        supervisors.push(this.spawn(workflow, version, state, run.input, epochs?.get(run.id) ?? run.epoch))
      } catch (error) {
        // one run that cannot be rebuilt holds up no other: its lease runs out and it is tried
        // again then (a restore asked for by a caller tells the caller)
        if (!epochs) throw error
        this.events.emit('dropped', run.id, 'it could not be rebuilt from its checkpoints', error)
      }
    }
    return supervisors
  }

  private async restore(id: string, epoch: number, prepare?: (state: RunState) => void): Promise<Supervisor> {
    const [supervisor] = await this.restoreMany([id], prepare, undefined)
    if (!supervisor) throw new NotFoundError(`run '${id}' does not exist`)
    supervisor.epoch = epoch
    return supervisor
  }

  /** Takes a run that is not in memory, for a cancel or a retry; explains when it cannot. */
  private async take(id: string, statuses: RunState['status'][], doing: string): Promise<number> {
    const epoch = await this.leases.take(id, Date.now(), statuses)
    if (epoch !== undefined) return epoch
    const run = await this.getRun(id)
    if (!statuses.includes(run.status as RunState['status']))
      throw new ConflictError(`run ${id} is ${run.status}: it cannot be ${doing}`)
    throw new ConflictError(
      `run ${id} is held by another process: try again there, or once its lease runs out`,
    )
  }

  /**
   * Starts a run from outside as `startRun` does, and waits up to `ms` for its end: `outcome` is its
   * end once stored, or its stored view after `ms`. Waiting from before the run exists, no read is
   * needed for a run that ends meanwhile (a webhook answered on completion).
   */
  async startAwaitingEnd(
    workflowId: string,
    input: unknown,
    options: StartOptions,
    ms: number,
  ): Promise<{ id: string; outcome: Promise<Pick<RunView, 'status' | 'output' | 'error'>> }> {
    const { id, wait } = await this.startWaiting(workflowId, input, options, ms)
    const outcome = wait.promise.then((ended) =>
      ended
        ? { status: ended.status, output: ended.output ?? null, error: ended.error ?? null }
        : readOutcome(this.reads, id),
    )
    return { id, outcome }
  }

  /**
   * Starts a run from outside with a waiter for its end (up to `ms`) told from before the run
   * exists, its id chosen first: a run that ends in the commit that stores it (a line of pure
   * steps) is heard of without a read.
   */
  private async startWaiting(
    workflowId: string,
    input: unknown,
    options: StartOptions,
    ms: number,
  ): Promise<{ id: string; wait: EndWait }> {
    const id = randomUUID()
    const wait = this.endWaiters.wait(id, ms)
    try {
      await this.starts.start(workflowId, input, options, id)
    } catch (error) {
      wait.cancel()
      throw error
    }
    return { id, wait }
  }

  /** Whether this process holds the run in memory now (its supervisor runs it here). */
  holds(id: string): boolean {
    return this.supervisors.has(id)
  }

  /** Resolves once every checkpoint handed to the writer so far is durable. */
  durable(): Promise<void> {
    return this.writer.drain()
  }

  /** The run as stored; waits up to `waitMs` for it to end first. */
  async getRun(id: string, waitMs = 0): Promise<RunView> {
    const wait = waitMs > 0 ? this.endWaiters.wait(id, waitMs) : undefined
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

  private async readRun(id: string): Promise<RunView> {
    let needsOf = new Map<string, Edge[]>()
    const view = await readRun(this.reads, id, async (workflowId, version) => {
      const { workflow } = await this.workflowVersion(workflowId, version)
      needsOf = new Map(workflow.steps.map((s) => [s.id, s.needs]))
      return workflow.steps.map((s) => s.id)
    })
    withStoredInputs(view.steps, needsOf, view.input)
    return view
  }

  /**
   * Deploys a definition and runs it once to its end: what `piecework run` does. `signals` are
   * sent to the run as soon as it is stored (buffered until a step waits for them). A run that is
   * then left waiting for nothing but signals is answered as it is (`waiting`).
   */
  async runOnce(
    definition: unknown,
    input: unknown,
    signals: { name: string; data: unknown }[] = [],
  ): Promise<RunView> {
    const { workflow, version } = await this.deploy(definition)
    if (workflow.trigger.kind !== 'manual' && workflow.trigger.kind !== 'webhook') {
      throw new ValidationError(`workflow '${workflow.id}' has a ${workflow.trigger.kind} trigger`)
    }
    const { id, wait } = await this.startWaiting(workflow.id, input, { version }, 2 ** 31 - 1)
    // a signal to a run that has ended already is refused (it starts nothing)
    for (const { name, data } of signals) await this.signal(id, name, data).catch(() => {})
    // a run left waiting for signals that nobody here can send ends the wait for it: it is shown as it is
    const stalled = new Promise<void>((resolve) => {
      const check = () => {
        if (!this.supervisors.get(id)?.waitsOnlyForSignals()) return
        this.events.off('run', onRun)
        resolve()
      }
      const onRun = (runId: string) => {
        if (runId === id) queueMicrotask(check)
      }
      this.events.on('run', onRun)
      this.stopStalledCheck = () => this.events.off('run', onRun)
      check()
    })
    await Promise.race([wait.promise, stalled])
    wait.cancel()
    this.stopStalledCheck?.()
    return this.getRun(id)
  }

  private stopStalledCheck: (() => void) | undefined

  /** The version of the workflow a failed run's `onFailure` names, or why no run of it starts. */
  private async failureHandler(workflowId: string, depth: number) {
    if (depth > this.options.maxDepth)
      return { skipped: `not started: the run of '${workflowId}' would be ${depth} deep, over runs.maxDepth` }
    try {
      return { version: await this.workflows.knownCurrentVersion(workflowId) }
    } catch (error) {
      const why = error instanceof NotFoundError ? 'it does not exist' : (error as Error).message
      return { skipped: `workflow '${workflowId}' not started: ${why}` }
    }
  }

  /** New work only while it can be stored and run. */
  private checkAccepting(): void {
    if (!this.accepting) throw new ConflictError('the engine is shutting down')
    // no new work that cannot be stored: the caller may try again once /ready says so
    if (!this.writer.healthy)
      throw new EngineError(
        'NOT_READY',
        'the database is away or full: the run was not accepted, try again later',
      )
  }

  /** Child runs that a run waited for are cancelled when it fails or is cancelled. */
  private async cancelChildren(runId: string): Promise<void> {
    for (const child of await waitedChildren(this.db.knex, runId))
      await this.cancelRun(child, 0).catch(() => {})
  }

  /**
   * Sends a signal to a run: stored before this resolves, then taken by the first step waiting for
   * its name, or buffered. Answers the step that takes it (null: buffered).
   */
  signal(runId: string, name: string, data: unknown): Promise<{ taken: string | null }> {
    return this.signals.signal(runId, name, data)
  }

  /** Sends a signal to every run with a step waiting for its name and key: how many it reached. */
  broadcast(name: string, key: unknown, data: unknown): Promise<{ delivered: number }> {
    return this.signals.broadcast(name, key, data)
  }

  /**
   * Cancels a run that has not ended: in memory here, passivated, or held by another process (the
   * request goes through the database, and its holder carries it out at its next poll). Resolves
   * once the run has ended, or after `waitMs` when another process has not got to it yet.
   */
  async cancelRun(id: string, waitMs = 10_000): Promise<void> {
    let live = this.supervisors.get(id)
    while (!live && this.takes.has(id)) {
      await this.takes.settled(id)
      live = this.supervisors.get(id)
    }
    if (!live) {
      const run = await this.getRun(id)
      if (RUN_ENDED.has(run.status as RunState['status'])) return
      // taken here meanwhile (a signal woke it): cancelled as it is in memory
      if (this.takes.begin([id]).length === 0) return this.cancelRun(id, waitMs)
      try {
        const epoch = await this.leases.take(id, Date.now())
        if (epoch === undefined) return this.cancelElsewhere(id, waitMs)
        live = await this.restore(id, epoch)
      } finally {
        this.takes.end([id])
      }
    }
    live.cancel()
    await live.done
  }

  private async cancelElsewhere(id: string, waitMs: number): Promise<void> {
    if (!(await this.leases.requestCancel(id, Date.now()))) return
    const deadline = Date.now() + waitMs
    while (Date.now() < deadline) {
      if (RUN_ENDED.has((await this.getRun(id)).status as RunState['status'])) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** A failed run goes on from its failed steps; what succeeded is not run again. */
  async retryRun(id: string): Promise<void> {
    if (this.supervisors.has(id)) throw new ConflictError(`run ${id} has not ended`)
    const epoch = await this.take(id, ['failed'], 'retried (only failed runs can be)')
    const supervisor = await this.restore(id, epoch, (state) => {
      if (state.status !== 'failed')
        throw new ConflictError(`run ${id} is ${state.status}: only failed runs can be retried`)
      resetForRetry(state)
    })
    // the items of the steps that run again are theirs to write anew
    const again = [...supervisor.state.steps.values()].filter((s) => s.status === 'pending').map((s) => s.id)
    await forgetItems(this.db.knex, id, again)
    await this.writer.write({
      runs: [
        {
          id,
          status: 'running',
          error: null,
          output: null,
          finished_at: null,
        },
      ],
      steps: [...supervisor.state.steps.values()]
        .filter((s) => s.status === 'pending')
        .map((s) => stepRow(id, s)),
      fence: { runId: id, epoch },
    })
    supervisor.resume()
  }

  /** Starts the worker threads and sandbox processes now rather than at the first step. */
  warmUp(): void {
    this.executors.warmUp()
  }

  get activeRuns(): number {
    return this.supervisors.size
  }

  /** False while checkpoints cannot be written (the database is away or full): they are retried. */
  get checkpointsHealthy(): boolean {
    return this.writer.healthy
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
    const stopped = this.recovery.stop()
    const deadline = Date.now() + graceMs
    while (Date.now() < deadline && [...this.supervisors.values()].some((s) => s.inFlight > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await stopped
    this.timers.clear()
    this.changes.close()
    await this.notices?.close()
    // while the database is away, what cannot be written stays for the next start to redo
    if (!this.writer.healthy) this.writer.close()
    await this.writer.drain()
    // runs still held go back to the pool of claimable runs at once
    await this.leases.releaseAll().catch(() => {})
    await this.executors.close()
    await this.db.close()
  }
}
