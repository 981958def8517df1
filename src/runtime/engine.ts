// The engine: wires the database, the worker pool and the pieces together, and gives each run a
// supervisor. Its methods are the programmatic API that the CLI and the HTTP layer both use.
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { availableParallelism } from 'node:os'
import { type CompiledWorkflow, compileWorkflow } from '../definition/compile.js'
import { ConflictError, NotFoundError, ValidationError } from '../errors.js'
import { BUILTIN_PIECES_DIR, loadRegistry, type PieceRegistry } from '../piece-sdk/registry.js'
import { CheckpointWriter, type StepRow } from '../store/checkpoints.js'
import { type Database, openDatabase } from '../store/orm.js'
import { type RunView, readRun } from '../store/runs.js'
import { WorkflowStore } from '../store/workflows.js'
import { WorkerPool } from '../workers/pool.js'
import type { LogLevel } from '../workers/protocol.js'
import { resetForRetry, restoreRunState } from './restore.js'
import { newStepState, type RunState, type StepState } from './state.js'
import { Supervisor } from './supervisor.js'
import { Timers } from './timers.js'

export interface EngineOptions {
  databaseUrl: string
  threads?: number
  stepTimeoutMs?: number
  memoryLimitMb?: number
  maxOutputBytes?: number
  pieceDirs?: string[]
}

export const ENGINE_DEFAULTS = {
  threads: Math.max(2, availableParallelism()),
  stepTimeoutMs: 5 * 60_000,
  memoryLimitMb: 256,
  maxOutputBytes: 4 * 1024 * 1024,
}

export interface EngineEvents {
  step: [runId: string, step: StepState]
  run: [runId: string, state: RunState]
  log: [runId: string, stepId: string | null, level: LogLevel, msg: string, data: unknown]
  /** A workflow was created, changed or deleted: triggers re-read it. */
  workflow: [workflowId: string]
}

export interface DeployResult {
  workflow: CompiledWorkflow
  version: number
  created: boolean
}

export class Engine {
  readonly events = new EventEmitter<EngineEvents>()
  readonly workflows: WorkflowStore
  private readonly writer: CheckpointWriter
  private readonly timers = new Timers()
  private readonly supervisors = new Map<string, Supervisor>()
  private readonly compiled = new Map<string, CompiledWorkflow>()
  private readonly limits: { stepTimeoutMs: number; maxOutputBytes: number }

  private constructor(
    readonly db: Database,
    readonly registry: PieceRegistry,
    readonly pool: WorkerPool,
    options: EngineOptions,
  ) {
    this.workflows = new WorkflowStore(db.orm)
    this.writer = new CheckpointWriter(db.knex)
    this.limits = {
      stepTimeoutMs: options.stepTimeoutMs ?? ENGINE_DEFAULTS.stepTimeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? ENGINE_DEFAULTS.maxOutputBytes,
    }
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const pieceDirs = options.pieceDirs ?? []
    const [db, registry] = await Promise.all([
      openDatabase(options.databaseUrl),
      loadRegistry([BUILTIN_PIECES_DIR, ...pieceDirs]),
    ])
    let pool: WorkerPool
    try {
      pool = new WorkerPool({
        threads: options.threads ?? ENGINE_DEFAULTS.threads,
        memoryLimitMb: options.memoryLimitMb ?? ENGINE_DEFAULTS.memoryLimitMb,
        pieceDirs,
      })
    } catch (error) {
      await db.close()
      throw error
    }
    return new Engine(db, registry, pool, options)
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
    if (version !== undefined) {
      const cached = this.compiled.get(`${id}@${version}`)
      if (cached) return { workflow: cached, version }
    }
    const stored = await this.workflows.get(id, version)
    const key = `${id}@${stored.version}`
    let workflow = this.compiled.get(key)
    if (!workflow) {
      workflow = this.compile(stored.definition)
      this.compiled.set(key, workflow)
    }
    return { workflow, version: stored.version }
  }

  /** Records the run durably, then starts its supervisor. */
  async startRun(workflowId: string, input: unknown, options: { version?: number } = {}) {
    const { workflow, version } = await this.workflowVersion(workflowId, options.version)
    const id = randomUUID()
    const now = Date.now()
    await this.writer.write({
      newRuns: [
        {
          id,
          workflow_id: workflow.id,
          workflow_version: version,
          status: 'queued',
          input: JSON.stringify(input ?? null),
          created_at: now,
        },
      ],
    })
    const state: RunState = {
      id,
      status: 'queued',
      steps: new Map(workflow.steps.map((s) => [s.id, newStepState(s.id)])),
    }
    this.spawn(workflow, version, state, input ?? null).start()
    return { id, status: state.status }
  }

  private spawn(workflow: CompiledWorkflow, version: number, state: RunState, trigger: unknown): Supervisor {
    const supervisor = new Supervisor(workflow, version, state, trigger, {
      pool: this.pool,
      writer: this.writer,
      timers: this.timers,
      now: Date.now,
      limits: this.limits,
      observer: {
        step: (runId, step) => this.events.emit('step', runId, step),
        run: (runId, s) => this.events.emit('run', runId, s),
        log: (runId, stepId, level, msg, data) => this.events.emit('log', runId, stepId, level, msg, data),
      },
    })
    this.supervisors.set(state.id, supervisor)
    void supervisor.done.then(() => this.supervisors.delete(state.id))
    return supervisor
  }

  /** Rebuilds a stored run's supervisor from its checkpoints. */
  private async restore(id: string, prepare?: (state: RunState) => void): Promise<Supervisor> {
    const run = await this.db.knex('runs').where({ id }).first()
    if (!run) throw new NotFoundError(`run '${id}' does not exist`)
    const { workflow, version } = await this.workflowVersion(run.workflow_id, Number(run.workflow_version))
    const rows: StepRow[] = await this.db.knex('step_states').where({ run_id: id })
    const state = restoreRunState(workflow, { id, status: run.status }, rows)
    prepare?.(state)
    return this.spawn(workflow, version, state, run.input === null ? null : JSON.parse(run.input))
  }

  /** Every run that had not ended goes on: at start, after a crash or a shutdown. */
  async recover(): Promise<number> {
    const rows: { id: string }[] = await this.db
      .knex('runs')
      .whereIn('status', ['queued', 'running', 'waiting'])
      .select('id')
    for (const { id } of rows) {
      if (this.supervisors.has(id)) continue
      const supervisor = await this.restore(id)
      if (supervisor.state.status === 'queued') supervisor.start()
      else supervisor.resume()
    }
    return rows.length
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
      runs: [{ id, status: 'running', error: null, output: null, finished_at: null }],
      steps: [...supervisor.state.steps.values()]
        .filter((s) => s.status === 'pending')
        .map((s) => supervisor.row(s)),
    })
    supervisor.resume()
  }

  workflowChanged(workflowId: string): void {
    this.events.emit('workflow', workflowId)
  }

  /** The run as stored; waits up to `waitMs` for it to end first. */
  async getRun(id: string, waitMs = 0): Promise<RunView> {
    const live = this.supervisors.get(id)
    if (live && waitMs > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([live.done, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))])
      clearTimeout(timer)
    }
    return readRun(this.db.knex, id, async (workflowId, version) => {
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
    await this.supervisors.get(id)?.done
    return this.getRun(id)
  }

  /** Cancels a run that has not ended; a run held by no supervisor here is cancelled in the store. */
  async cancelRun(id: string): Promise<void> {
    const live = this.supervisors.get(id) ?? (await this.restore(id))
    live.cancel()
    await live.done
  }

  get activeRuns(): number {
    return this.supervisors.size
  }

  async close(): Promise<void> {
    this.timers.clear()
    await this.writer.drain()
    await this.pool.close()
    await this.db.close()
  }
}
