// The state a supervisor owns for one run: each step's status and mailbox. Plain data, so that it can
// be rebuilt from checkpoints after a restart; shared by the runtime, which changes it, and the
// store, which turns it into rows and back (src/store/step-rows.ts).

import type { BufferedSignal } from './signal.js'
import type { RunStatus, StepStatus } from './status.js'

export { type BufferedSignal, childSignal } from './signal.js'

export { RUN_ENDED, type RunStatus, STEP_ENDED, type StepStatus } from './status.js'

export interface StepError {
  code: string
  message: string
  details?: unknown
}

export interface RunError extends StepError {
  stepId?: string
}

/** What travels on an edge: a delivered value, or the news that the handle did not fire. */
export interface Message {
  from: string
  handle: string
  delivered: boolean
  value?: unknown
}

export interface StepState {
  id: string
  status: StepStatus
  attempts: number
  /**
   * How many times the current attempt was found `running` when its run was taken back after its
   * process died: an attempt that keeps killing the engine stops being run again (`CRASHED`).
   */
  interruptions: number
  /** The handle the step fired, once it has. */
  handle?: string
  output?: unknown
  error?: StepError
  /** When a waiting step is due: the end of a delay or of a retry backoff, or a wait's timeout. */
  wakeAt?: number
  /** What a waiting step waits for besides time: a signal (a child's end is one too). */
  wait?: SignalWait
  /** The run a `workflow.run` step started. */
  childRunId?: string
  /** How many items a `forEach` step has, once they are known. */
  itemsTotal?: number
  /**
   * One message per need that has resolved, in the order they arrived (each step finishes once and
   * posts once on each edge): its length is the count of resolved needs.
   */
  mailbox: Message[]
  /** How many messages of the mailbox delivered a value: with its length, all a join needs. */
  deliveries: number
  startedAt?: number
  finishedAt?: number
}

/** What a `flow.wait` step (or a step waiting for its child run) waits for. */
export interface SignalWait {
  signal: string
  /** The value a broadcast signal must carry to reach the step (JSON text). */
  key?: string
  /** When the wait times out. */
  until?: number
}

/** What a child run's end tells its parent. */
export interface ChildOutcome {
  runId: string
  status: RunStatus
  output?: unknown
  error?: RunError
}

export interface RunState {
  id: string
  status: RunStatus
  steps: Map<string, StepState>
  /** Signals sent to the run that no step has taken yet, oldest first. */
  signals: BufferedSignal[]
  /**
   * Signals taken since the run was last rebuilt, by who took them (a step, or `step[index]` for
   * a `forEach` item): a signal is taken at most once.
   */
  taken?: Map<number, string>
  /** How deep in a chain of sub-workflows the run is: 0 for a run started from outside. */
  depth: number
  /** The step that started this run, and whether it waits for its end. */
  parent?: { runId: string; stepId: string; waits: boolean }
  error?: RunError
  /** The run's output, once it has succeeded. */
  output?: unknown
}

export function newStepState(id: string): StepState {
  return { id, status: 'pending', attempts: 0, interruptions: 0, mailbox: [], deliveries: 0 }
}
