// The shapes the API answers, as the UI reads them (see docs/api.md).

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled'

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface StepDefinition {
  id: string
  uses: string
  needs?: string[]
  forEach?: unknown
  with?: unknown
  [key: string]: unknown
}

export interface Definition {
  id: string
  name?: string
  trigger?: { uses: string; with?: unknown }
  steps: StepDefinition[]
  [key: string]: unknown
}

export interface WorkflowSummary {
  id: string
  name: string | null
  version: number
  triggerKind: string
  createdAt: string
  updatedAt: string
  /** Paused: its trigger starts no runs, and neither does the API, until it is resumed. */
  paused: boolean
  pausedAt: string | null
}

export interface Workflow extends WorkflowSummary {
  definition: Definition
}

export interface WorkflowRunStats {
  workflowId: string
  counts: Partial<Record<RunStatus, number>>
  lastRun: { id: string; status: RunStatus; createdAt: string } | null
}

export interface RunSummary {
  id: string
  workflowId: string
  workflowVersion: number
  status: RunStatus
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export interface StepView {
  id: string
  status: string
  attempts: number
  /** What the step was given as `input`, once it has started. */
  input?: unknown
  /** The handle it fired when it ended. */
  handle?: string
  output: unknown
  error: { code: string; message: string; details?: unknown } | null
  startedAt: string | null
  finishedAt: string | null
  items?: { total: number; succeeded: number; failed: number; running: number }
  childRunId?: string
  waitingFor?: { signal: string; key?: unknown; until?: string }
}

export interface Run extends RunSummary {
  input: unknown
  output: unknown
  error: { code: string; message: string; stepId?: string } | null
  parentRunId: string | null
  parentStepId: string | null
  steps: StepView[]
}

export interface LogLine {
  ts: string
  level: string
  stepId: string | null
  msg: string
  data: unknown
}

export interface Item {
  index: number
  status: string
  attempts: number
  output: unknown
  error: { code: string; message: string } | null
  childRunId?: string
  finishedAt: string | null
}

export const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled']
export const ENDED = new Set(['succeeded', 'failed', 'cancelled'])
