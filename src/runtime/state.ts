// The state a supervisor owns for one run: each step's status and mailbox. Plain data, so that it can
// be rebuilt from checkpoints after a restart.

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled'
export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled'

export const RUN_ENDED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled'])
export const STEP_ENDED: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled'])

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
  /** The handle the step fired, once it has. */
  handle?: string
  output?: unknown
  error?: StepError
  /** When a waiting step is due: the end of a delay or of a retry backoff. */
  wakeAt?: number
  mailbox: Message[]
  startedAt?: number
  finishedAt?: number
}

export interface RunState {
  id: string
  status: RunStatus
  steps: Map<string, StepState>
  error?: RunError
  /** The run's output, once it has succeeded. */
  output?: unknown
}

export function newStepState(id: string): StepState {
  return { id, status: 'pending', attempts: 0, mailbox: [] }
}
