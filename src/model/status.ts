// The statuses of runs and steps: shared by the runtime, which changes them, and the store and the
// HTTP layer, which keep and show them (so that neither imports the runtime for them).

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]
export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled'

export const RUN_ENDED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled'])
export const STEP_ENDED: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled'])
