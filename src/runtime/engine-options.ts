// What an engine is opened with (every option and its default) and the events it emits. Apart
// from the engine itself, so that its facade reads as what it does.
import { availableParallelism } from 'node:os'
import type { DefinitionLimits } from '../definition/limits.js'
import type { ExpressionLimits } from '../definition/template.js'
import type { Credentials } from '../piece-sdk/define.js'
import type { PieceSource } from '../piece-sdk/sources.js'
import type { SandboxEvent } from '../sandbox/sandbox-pool.js'
import type { SecretOptions } from '../secrets/vault.js'
import type { LogLevel } from '../workers/protocol.js'
import type { RunState, StepState } from './state.js'

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
  /** A step attempt under way this many times when its process died fails with CRASHED (default 2). */
  maxInterruptions?: number
  /** Whether pure built-in actions run on the engine's thread (default true; false is for measuring). */
  inlineBuiltins?: boolean
  /** The processes that run user code and pieces from packages (see docs/sandbox.md). */
  sandbox?: Partial<SandboxSettings>
  /** Bounds of every `{{ }}` evaluation, which runs on the engine's thread (default: EXPRESSION_LIMITS). */
  expressions?: Partial<ExpressionLimits>
  /** How large a workflow may be (default: DEFINITION_LIMITS). */
  limits?: Partial<DefinitionLimits>
  /** Items a `forEach` step may have (default 10,000). */
  maxItems?: number
  /** How deep sub-workflows may nest (default 10). */
  maxDepth?: number
  /** Makes the signed link of `$signalUrl(name)` for a run; without it, that function fails. */
  signalUrl?: (runId: string, name: string) => string
  /** Named secrets of the configuration, and the keys that seal those stored through the API. */
  secrets?: SecretOptions
  /**
   * Definitions about to run (`piecework run`): if one of their steps runs in a sandbox process,
   * the processes start as soon as the pieces are known, while the database opens, not at the step.
   */
  startSandboxFor?: unknown[]
}

/** The `uses` of a definition's steps, read from it as given (it is compiled later). */
export function stepUses(definition: unknown): string[] {
  const steps = (definition as { steps?: unknown } | undefined)?.steps
  if (!Array.isArray(steps)) return []
  return steps.flatMap((step: { uses?: unknown } | null) =>
    typeof step?.uses === 'string' ? [step.uses] : [],
  )
}

export interface SandboxSettings {
  processes: number
  threadsPerProcess: number
  /** Resident memory of one sandbox process, ArrayBuffers included; over it the process ends. */
  processMemoryMb: number
  /** Threads one workflow may hold at once (default: all but one, at least one). */
  maxThreadsPerWorkflow?: number
}

export const ENGINE_DEFAULTS = {
  threads: Math.max(2, availableParallelism()),
  stepTimeoutMs: 5 * 60_000,
  memoryLimitMb: 256,
  maxOutputBytes: 4 * 1024 * 1024,
  leaseMs: 15_000,
  passivateAfterMs: 2_000,
  pollMs: 500,
  /** Sandbox processes by default: one more than the pool's threads, so that one workflow can use
   * every core while others still keep a thread (a workflow may hold all but one). */
  sandbox: { threadsPerProcess: 1, processMemoryMb: 1024 },
  maxInterruptions: 2,
  maxItems: 10_000,
  maxDepth: 10,
}

export interface EngineEvents {
  step: [runId: string, step: StepState]
  run: [runId: string, state: RunState]
  log: [runId: string, stepId: string | null, level: LogLevel, msg: string, data: unknown]
  /** A run was recorded and its supervisor started. */
  started: [runId: string, workflowId: string]
  /** A workflow was created, changed or deleted: triggers re-read it. */
  workflow: [workflowId: string]
  /** A sandbox process ended (and the steps in it failed) or a new one became ready. */
  sandbox: [event: SandboxEvent]
  /**
   * A run left this process's memory without ending: its lease was lost to another process, a
   * checkpoint of it failed, or it could not be rebuilt. It goes on from what is durable, here or
   * in another process.
   */
  dropped: [runId: string, reason: string, error: unknown]
}
