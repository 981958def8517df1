// Starting runs: a run from outside (the API, a webhook, a schedule, `piecework run`) and the child
// runs of `workflow.run` steps. A new run's row goes into the checkpoint of its first steps; a
// child's row, when the attempt starting it began in this process, into its parent's checkpoint
// that names it. The engine hands over what a start needs: its supervisors, its lines, the catalog.
import { randomUUID } from 'node:crypto'
import type { CompiledWorkflow } from '../definition/compile.js'
import { EngineError, pausedError, RunExistsError } from '../errors.js'
import type { NewRunRow } from '../store/checkpoints.js'
import { newStepState, type RunState } from './state.js'
import type { ChildStart, NewChild, Supervisor } from './supervisor.js'

export interface StartOptions {
  version?: number
  id?: string
  parent?: RunState['parent']
  depth?: number
  /** A start from outside (the API, a webhook): refused while the workflow is paused. */
  unlessPaused?: boolean
}

/** What starting runs needs from the engine. */
export interface StartHost {
  /** Who this process is, as its runs' rows name it, and how long a lease it takes on a new run. */
  owner: string
  leaseMs: number
  /** `runs.maxDepth`: how deep sub-workflows nest. */
  maxDepth: number
  /** Throws when no new run can be taken now (the engine shuts down, the database is away). */
  checkAccepting(): void
  /** Whether a run of this id is in memory here. */
  holds(id: string): boolean
  /** Whether a run of this id is stored. */
  stored(id: string): Promise<boolean>
  /** A version of a workflow (the current one without a version), and whether it is paused. */
  version(
    workflowId: string,
    version?: number,
  ): Promise<{ workflow: CompiledWorkflow; version: number; paused?: boolean }>
  /** The same for a run a run starts: the current version as this process knows it, without a read when it may. */
  knownVersion(workflowId: string, version?: number): Promise<{ workflow: CompiledWorkflow; version: number }>
  isPaused(workflowId: string): Promise<boolean>
  /** A supervisor for a run, held in memory here from now on. */
  spawn(workflow: CompiledWorkflow, version: number, state: RunState, trigger: unknown): Supervisor
  /** Lets go of a supervisor whose run was never stored. */
  forget(supervisor: Supervisor): void
  /** Starts a run, or queues it under its workflow's `concurrency` (`inserting`: its row). */
  admit(supervisor: Supervisor, inserting?: NewRunRow): Promise<void>
  /** A run was stored and started (or queued). */
  started(id: string, workflowId: string): void
  /** Leaves a run that was never stored. */
  drop(supervisor: Supervisor, reason: string): void
}

export class RunStarts {
  constructor(private readonly host: StartHost) {}

  /**
   * Starts a run: resolves once its row and its first steps are durable, before any step runs.
   * `fresh`: a new random id the caller chose (to wait for the run's end before it can end), which
   * no run can have.
   */
  async start(
    workflowId: string,
    input: unknown,
    options: StartOptions = {},
    fresh?: string,
  ): Promise<{ id: string; status: RunState['status'] }> {
    const host = this.host
    host.checkAccepting()
    const id = options.id ?? fresh ?? randomUUID()
    // a chosen id is looked up: the first steps of a run being inserted run before its row is
    // durable, and their rows must never meet a stored run of that id that this process holds
    if (host.holds(id) || (options.id !== undefined && (await host.stored(id)))) throw new RunExistsError(id)
    const { workflow, version, paused } = await host.version(workflowId, options.version)
    if (options.unlessPaused && (paused ?? (await host.isPaused(workflowId)))) throw pausedError(workflowId)
    if (host.holds(id)) throw new RunExistsError(id)
    const { row, state } = this.newRun(id, workflow, version, input, options)
    const supervisor = host.spawn(workflow, version, state, input ?? null)
    // the run's row goes into the checkpoint of its first steps: one commit, not two (the run is
    // `running` from here, unless its workflow's `concurrency` holds it `queued`)
    const admitted = host.admit(supervisor, row)
    let status = state.status
    try {
      await admitted
      // a run under a `concurrency` limit starts once its row is stored, if it finds a place
      if (workflow.definition.concurrency !== undefined)
        status = state.status === 'queued' ? 'queued' : 'running'
    } catch (error) {
      // its row is not stored: the run never existed
      host.forget(supervisor)
      throw error
    }
    host.started(id, workflow.id)
    return { id, status }
  }

  /**
   * Starts the child run of a `workflow.run` step, unless it exists already (the parent was
   * restarted after starting it): then it goes on where it is.
   */
  async child(child: ChildStart): Promise<void> {
    this.checkDepth(child)
    try {
      await this.start(child.workflow, child.input, {
        id: child.id,
        version: child.version,
        parent: child.parent,
        depth: child.depth,
      })
    } catch (error) {
      // started already: in memory here (its row may still be on its way), or stored
      if (!(error instanceof RunExistsError)) throw error
    }
  }

  /**
   * A child run whose attempt began in this process, so that no run of its id can exist yet: its
   * row goes into its parent's checkpoint that records the start (both durable or neither, in one
   * commit rather than the child's before the parent's), and it starts once that checkpoint is
   * handed to the writer, its first rows following its row. Under a `concurrency` limit it waits
   * for its row to be stored, then for a place.
   */
  async newChild(child: ChildStart): Promise<NewChild> {
    const host = this.host
    this.checkDepth(child)
    host.checkAccepting()
    const { workflow, version } = await host.knownVersion(child.workflow, child.version)
    const { row, state } = this.newRun(child.id, workflow, version, child.input, child)
    const limited = workflow.definition.concurrency !== undefined
    return {
      row,
      begin: (durable) => {
        if (host.holds(child.id)) return
        const supervisor = host.spawn(workflow, version, state, child.input ?? null)
        if (!limited) void supervisor.start()
        durable.then(
          () => {
            host.started(child.id, workflow.id)
            if (limited) void host.admit(supervisor)
          },
          // its row was not stored: it never existed
          () => host.drop(supervisor, "its parent's checkpoint failed"),
        )
      },
    }
  }

  private checkDepth(child: ChildStart): void {
    if (child.depth > this.host.maxDepth)
      throw new EngineError(
        'DEPTH_EXCEEDED',
        `sub-workflows would nest ${child.depth} deep, over the limit of ${this.host.maxDepth} (runs.maxDepth)`,
      )
  }

  /** The row and the first state of a run not yet stored. */
  private newRun(
    id: string,
    workflow: CompiledWorkflow,
    version: number,
    input: unknown,
    options: { parent?: RunState['parent']; depth?: number },
  ): { row: NewRunRow; state: RunState } {
    const now = Date.now()
    const row: NewRunRow = {
      id,
      workflow_id: workflow.id,
      workflow_version: version,
      status: 'queued',
      input: JSON.stringify(input ?? null),
      created_at: now,
      owner: this.host.owner,
      lease_until: now + this.host.leaseMs,
      parent_run_id: options.parent?.runId ?? null,
      parent_step_id: options.parent?.stepId ?? null,
      parent_waits: options.parent?.waits ? 1 : 0,
      depth: options.depth ?? 0,
    }
    const state: RunState = {
      id,
      status: 'queued',
      steps: new Map(workflow.steps.map((s) => [s.id, newStepState(s.id)])),
      signals: [],
      depth: options.depth ?? 0,
      parent: options.parent,
    }
    return { row, state }
  }
}
