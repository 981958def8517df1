// The persisted state of the engine. Times are epoch milliseconds, JSON values are stored as text
// (they arrive from the workers already serialised), so both databases read and write them alike.
import { defineEntity } from '@mikro-orm/core'
import type { RunStatus, StepStatus } from '../model/status.js'

export const WorkflowEntity = defineEntity({
  name: 'Workflow',
  tableName: 'workflows',
  properties: (p) => ({
    id: p.string().primary(),
    name: p.string().nullable(),
    currentVersion: p.integer(),
    triggerKind: p.string(),
    createdAt: p.bigint('number'),
    updatedAt: p.bigint('number'),
    deletedAt: p.bigint('number').nullable(),
    /** When the workflow was paused: its triggers start nothing until it is resumed. */
    pausedAt: p.bigint('number').nullable(),
  }),
})

export const WorkflowVersionEntity = defineEntity({
  name: 'WorkflowVersion',
  tableName: 'workflow_versions',
  properties: (p) => ({
    workflowId: p.string().primary(),
    version: p.integer().primary(),
    definition: p.text(),
    hash: p.string(),
    createdAt: p.bigint('number'),
  }),
  primaryKeys: ['workflowId', 'version'],
})

export const RunEntity = defineEntity({
  name: 'Run',
  tableName: 'runs',
  properties: (p) => ({
    id: p.string().primary(),
    workflowId: p.string(),
    workflowVersion: p.integer(),
    status: p.string().$type<RunStatus>(),
    input: p.text().nullable(),
    output: p.text().nullable(),
    error: p.text().nullable(),
    createdAt: p.bigint('number'),
    startedAt: p.bigint('number').nullable(),
    finishedAt: p.bigint('number').nullable(),
    /** The process that holds the run, and until when; null while the run is passivated. */
    owner: p.string().nullable(),
    leaseUntil: p.bigint('number').nullable(),
    leaseEpoch: p.integer().default(1),
    /** A cancel asked through another process than the holder: the holder carries it out. */
    cancelRequestedAt: p.bigint('number').nullable().index('runs_cancel_requested_at_index'),
    /** A run started by a `workflow.run` step: that step's run and id, and whether it waits for it. */
    parentRunId: p.string().nullable().index('runs_parent_run_id_index'),
    parentStepId: p.string().nullable(),
    parentWaits: p.integer().nullable().default(0),
    /** How deep in a chain of sub-workflows the run is (0: started from outside). */
    depth: p.integer().nullable().default(0),
  }),
  indexes: [
    { properties: ['workflowId', 'createdAt'] },
    { properties: ['createdAt', 'id'] },
    { properties: ['status', 'finishedAt'] },
    { properties: ['workflowId', 'status', 'finishedAt'] },
  ],
})

export const StepStateEntity = defineEntity({
  name: 'StepState',
  tableName: 'step_states',
  properties: (p) => ({
    runId: p.string().primary(),
    stepId: p.string().primary(),
    status: p.string().$type<StepStatus>(),
    attempts: p.integer(),
    /** How often the current attempt was under way when its process died (see runs.maxInterruptions). */
    interruptions: p.integer().default(0),
    handle: p.string().nullable(),
    output: p.text().nullable(),
    error: p.text().nullable(),
    wakeAt: p.bigint('number').nullable(),
    startedAt: p.bigint('number').nullable(),
    finishedAt: p.bigint('number').nullable(),
    /** What a waiting step waits for: a signal's name, its key (JSON), until when. */
    waitSignal: p.string().nullable(),
    waitKey: p.text().nullable(),
    waitUntil: p.bigint('number').nullable(),
    /** The run a `workflow.run` step started. */
    childRunId: p.string().nullable(),
    /** How many items a `forEach` step has, once they are known. */
    itemsTotal: p.integer().nullable(),
  }),
  primaryKeys: ['runId', 'stepId'],
  indexes: [{ properties: ['status', 'wakeAt'] }, { properties: ['waitSignal', 'status', 'runId'] }],
})

export const StepItemEntity = defineEntity({
  name: 'StepItem',
  tableName: 'step_items',
  properties: (p) => ({
    runId: p.string().primary(),
    stepId: p.string().primary(),
    idx: p.integer().primary(),
    status: p.string(),
    attempts: p.integer(),
    output: p.text().nullable(),
    error: p.text().nullable(),
    childRunId: p.string().nullable(),
    startedAt: p.bigint('number').nullable(),
    finishedAt: p.bigint('number').nullable(),
  }),
  primaryKeys: ['runId', 'stepId', 'idx'],
})

export const SignalEntity = defineEntity({
  name: 'Signal',
  tableName: 'signals',
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    runId: p.string(),
    name: p.string(),
    data: p.text().nullable(),
    createdAt: p.bigint('number'),
    /** The step that took it and when; null while it is buffered. */
    takenBy: p.string().nullable(),
    takenAt: p.bigint('number').nullable(),
    /** The run whose end sent it (a child to its parent). */
    senderRunId: p.string().nullable(),
  }),
  indexes: [{ properties: ['runId', 'id'] }, { properties: ['takenAt', 'runId'] }],
})

export const RunLogEntity = defineEntity({
  name: 'RunLog',
  tableName: 'run_logs',
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    runId: p.string(),
    stepId: p.string().nullable(),
    ts: p.bigint('number'),
    level: p.string(),
    msg: p.text(),
    data: p.text().nullable(),
  }),
  indexes: [{ properties: ['runId', 'id'] }],
})

export const ScheduleFireEntity = defineEntity({
  name: 'ScheduleFire',
  tableName: 'schedule_fires',
  properties: (p) => ({
    workflowId: p.string().primary(),
    dueAt: p.bigint('number').primary(),
    firedAt: p.bigint('number'),
    runId: p.string().nullable(),
    /** `started`, or `skipped` when the previous run was still in flight (overlap: skip). */
    outcome: p.string(),
  }),
  primaryKeys: ['workflowId', 'dueAt'],
  indexes: [{ properties: ['runId'] }],
})

/** A secret stored through the API, sealed (src/secrets/cipher.ts): never its value in clear. */
export const SecretEntity = defineEntity({
  name: 'Secret',
  tableName: 'secrets',
  properties: (p) => ({
    name: p.string().primary(),
    keyId: p.string(),
    iv: p.string(),
    data: p.text(),
    createdAt: p.bigint('number'),
    updatedAt: p.bigint('number'),
  }),
})

export const ENTITIES = [
  WorkflowEntity,
  WorkflowVersionEntity,
  RunEntity,
  StepStateEntity,
  RunLogEntity,
  ScheduleFireEntity,
  StepItemEntity,
  SignalEntity,
  SecretEntity,
]
