// Running one action for one step: props checked, context built, output checked and encoded as
// JSON text. Worker threads run every step through it; the engine's own thread runs the built-in
// actions marked `inline` through it too (see src/runtime/dispatch.ts).
import * as v from 'valibot'
import { issuesToProblems } from '../definition/issues.js'
import { TerminalError, toErrorShape } from '../errors.js'
import {
  type ActionContext,
  type Credentials,
  isChildRun,
  isFired,
  isWaiting,
  type PieceDefinition,
  type StepLogger,
} from '../piece-sdk/define.js'
import { type PieceRegistry, splitUses } from '../piece-sdk/registry.js'
import { boundError, LogBudget } from './bounds.js'
import type { LogLevel, StepReply, StepTask } from './protocol.js'

/** A step's logger that must be closed when the step ends (it may owe a "lines dropped" line). */
export interface StepLog extends StepLogger {
  close(): void
}

/** What the caller provides around the action: where its log lines go and its credentials. */
export interface ExecuteEnv {
  log: StepLog
  signal: AbortSignal
  /** Asked only for pieces that declare `auth`. */
  credentials: (piece: PieceDefinition) => Promise<Readonly<Credentials>>
}

/** Log data as JSON text; a value that cannot be written says so instead of failing the step. */
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null'
  } catch (error) {
    return JSON.stringify(`[unserialisable: ${(error as Error).message}]`)
  }
}

/**
 * A step's logger whose lines go to `send`, their data as JSON text (as they cross threads), each
 * line and the whole log within their bounds (src/workers/bounds.ts).
 */
export function stepLogger(send: (level: LogLevel, msg: string, data: string | undefined) => void): StepLog {
  const budget = new LogBudget()
  const line = (level: LogLevel) => (msg: string, data?: unknown) => {
    const admitted = budget.admit(String(msg), data === undefined ? undefined : safeJson(data))
    if (admitted) send(level, admitted.msg, admitted.data)
  }
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    close: () => {
      const dropped = budget.close()
      if (dropped) send('warn', dropped, undefined)
    },
  }
}

export function encode(value: unknown, limit: number): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (error) {
    throw new TerminalError('OUTPUT_INVALID', `the step's output is not JSON: ${(error as Error).message}`)
  }
  json ??= 'null'
  // string length bounds the byte size from below; only measure bytes when it could matter
  if (json.length * 3 > limit && Buffer.byteLength(json) > limit) {
    throw new TerminalError(
      'OUTPUT_TOO_LARGE',
      `the step's output is ${Buffer.byteLength(json)} bytes, over the limit of ${limit} bytes`,
    )
  }
  return json
}

async function execute(registry: PieceRegistry, task: StepTask, env: ExecuteEnv): Promise<StepReply> {
  const action = registry.action(task.uses)
  if (!action) throw new TerminalError('UNKNOWN_ACTION', `no piece action '${task.uses}' is loaded`)
  const piece = registry.piece(splitUses(task.uses)[0])!
  const props = v.safeParse(action.props, task.props)
  if (!props.success) {
    const problems = issuesToProblems(props.issues, 'with')
    throw new TerminalError(
      'INVALID_PROPS',
      `props of ${task.uses} are invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { details: problems },
    )
  }
  const ctx: ActionContext<unknown> = {
    props: props.output,
    input: task.input,
    inputs: task.inputs,
    trigger: task.trigger,
    steps: task.steps ?? {},
    run: task.run,
    stepId: task.stepId,
    item: task.item,
    attempt: task.attempt,
    idempotencyKey: task.idempotencyKey,
    log: env.log,
    signal: env.signal,
    limits: { maxOutputBytes: task.maxOutputBytes, timeoutMs: task.timeoutMs },
    credentials: piece.auth ? await env.credentials(piece) : undefined,
    secrets: task.secrets ?? {},
  }
  const result = await action.run(ctx)
  if (isWaiting(result)) {
    const json = encode(result.value, task.maxOutputBytes)
    if (!result.signal) return { ok: true, kind: 'wait', until: result.until, json }
    const { name, key } = result.signal
    const signal = key === undefined ? { name } : { name, key: encode(key, task.maxOutputBytes) }
    return { ok: true, kind: 'wait', until: result.until, json, signal }
  }
  if (isChildRun(result)) {
    const { workflow, version, wait } = result
    return {
      ok: true,
      kind: 'child',
      workflow,
      version,
      wait,
      input: encode(result.input, task.maxOutputBytes),
    }
  }
  const handle = isFired(result) ? result.handle : 'out'
  const value = isFired(result) ? result.value : result
  if (action.output) {
    const checked = v.safeParse(action.output, value)
    if (!checked.success) {
      const problems = issuesToProblems(checked.issues, 'output')
      throw new TerminalError('INVALID_OUTPUT', `${task.uses} returned an output that breaks its schema`, {
        details: problems,
      })
    }
  }
  return { ok: true, kind: 'fired', handle, json: encode(value, task.maxOutputBytes) }
}

/** Runs the step's action; never throws: a failure is an error reply. */
export async function executeStep(
  registry: PieceRegistry,
  task: StepTask,
  env: ExecuteEnv,
): Promise<StepReply> {
  try {
    return await execute(registry, task, env)
  } catch (error) {
    return { ok: false, error: boundError(toErrorShape(error, 'ERROR')) }
  } finally {
    env.log.close()
  }
}
