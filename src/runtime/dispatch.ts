// Where a step runs. Built-in actions marked `inline` (pure and quick: no I/O, no user code) run on
// the engine's own thread, which saves the hop to a worker and back; the actions of trusted built-in
// pieces run in the engine's worker pool; everything else (user code, pieces from packages) runs in
// sandbox processes, where a step that exhausts memory or crashes takes down only its own process.
// All three go through the same checks (src/workers/execute.ts). Here too the secrets a step names
// at its action's `secretProps` are read, and whatever a step hands back is scrubbed of secrets.
import { toErrorShape } from '../errors.js'
import { type PieceRegistry, splitUses } from '../piece-sdk/registry.js'
import { namedSecrets } from '../secrets/references.js'
import { scrubReply } from '../secrets/scrub.js'
import type { SecretAccess } from '../secrets/vault.js'
import { executeStep, stepLogger } from '../workers/execute.js'
import type { LogSink } from '../workers/pool.js'
import { CANCELLED, LEASE_UNSURE, type StepReply, type StepTask } from '../workers/protocol.js'
import type { Executors } from './executors.js'

export interface StepRunner {
  run(task: Omit<StepTask, 'taskId'>, signal: AbortSignal, log: LogSink): Promise<StepReply>
  /** Whether the action runs on the engine's thread: pure, quick, with no effect outside the run. */
  runsInline(uses: string): boolean
}

export type Place = 'inline' | 'pool' | 'sandbox'

/** The engine's leases on its runs (src/runtime/run-recovery.ts). */
export interface LeaseCheck {
  /** Whether they were renewed recently enough to be surely held. */
  valid(): boolean
  /**
   * Resolves once they are sure again or `givenUp` says so; runs found lost meanwhile are
   * stopped (their steps' signals abort).
   */
  confirm(givenUp: () => boolean): Promise<void>
}

/**
 * Where an action runs. Only built-in pieces may run on the engine's thread or its pool: others
 * could stall or crash it. `inlineAllowed` false sends the inline ones to the pool instead.
 */
export function placeOf(registry: PieceRegistry, uses: string, inlineAllowed = true): Place {
  const name = splitUses(uses)[0]
  const builtin = registry.origin(name) === 'builtin'
  const trusted = builtin && registry.piece(name)?.trusted === true
  const inline = inlineAllowed && trusted && registry.action(uses)?.inline === true
  return inline ? 'inline' : trusted ? 'pool' : 'sandbox'
}

export class StepDispatcher implements StepRunner {
  private readonly places = new Map<string, Place>()

  constructor(
    private readonly registry: PieceRegistry,
    private readonly executors: Executors,
    /** False sends every step to the pool (to measure what inline execution saves). */
    private readonly inlineAllowed = true,
    /** The engine's named secrets; without them no step names any. */
    private readonly secrets?: SecretAccess,
    private readonly leases?: LeaseCheck,
  ) {}

  run(task: Omit<StepTask, 'taskId'>, signal: AbortSignal, log: LogSink): Promise<StepReply> {
    const secrets = this.secrets
    if (!secrets) return this.dispatch(task, signal, log)
    const names = namedSecrets(this.registry.action(task.uses)?.secretProps, task.props)
    if (names.length === 0 && secrets.redactor.empty) return this.dispatch(task, signal, log)
    return this.withSecrets(task, names, secrets, signal, log)
  }

  /** Reads the secrets the step names, runs it, and scrubs its answer and log lines of every secret. */
  private async withSecrets(
    task: Omit<StepTask, 'taskId'>,
    names: string[],
    secrets: SecretAccess,
    signal: AbortSignal,
    log: LogSink,
  ): Promise<StepReply> {
    let values: Record<string, string> | undefined
    try {
      if (names.length > 0)
        values = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await secrets.resolve(n)])))
    } catch (error) {
      return { ok: false, error: toErrorShape(error) }
    }
    const clean: LogSink = (level, msg, data) =>
      log(level, secrets.redactor.text(msg), secrets.redactor.value(data))
    const reply = await this.dispatch(values ? { ...task, secrets: values } : task, signal, clean)
    return scrubReply(reply, secrets.redactor)
  }

  private dispatch(task: Omit<StepTask, 'taskId'>, signal: AbortSignal, log: LogSink): Promise<StepReply> {
    const place = this.place(task.uses)
    if (place !== 'inline') return this.runOutside(place, task, signal, log)
    return executeStep(
      this.registry,
      { ...task, taskId: 0 },
      {
        // log data crosses as JSON, as it does from a worker
        log: stepLogger((level, msg, data) =>
          log(level, msg, data === undefined ? undefined : JSON.parse(data)),
        ),
        signal,
        credentials: () => Promise.reject(new Error('inline actions take no credentials')),
      },
    )
  }

  /**
   * Runs a step in the pool or a sandbox process. One that waited there while the engine was
   * stopped past its leases did not begin (LEASE_UNSURE): it is given again once the leases are
   * confirmed, unless its run was found lost meanwhile (then its signal aborts).
   */
  private async runOutside(
    place: 'pool' | 'sandbox',
    task: Omit<StepTask, 'taskId'>,
    signal: AbortSignal,
    log: LogSink,
  ): Promise<StepReply> {
    for (;;) {
      const reply = await this.executors.run(place, task, signal, log)
      if (reply.ok || reply.error.code !== LEASE_UNSURE.code || !this.leases) return reply
      await this.leases.confirm(() => signal.aborted)
      if (signal.aborted) return { ok: false, error: CANCELLED }
    }
  }

  runsInline(uses: string): boolean {
    return this.place(uses) === 'inline'
  }

  private place(uses: string): Place {
    let place = this.places.get(uses)
    if (place === undefined) {
      place = placeOf(this.registry, uses, this.inlineAllowed)
      this.places.set(uses, place)
    }
    return place
  }
}
