// The worker entry: locks the realm down, loads the pieces, and runs one step per task. It never
// touches the database: everything it needs arrives with the task, logs go back over comlink.
import './lockdown.js'
import { MessageChannel, parentPort, workerData } from 'node:worker_threads'
import * as Comlink from 'comlink'
import * as v from 'valibot'
import { issuesToProblems } from '../definition/issues.js'
import { TerminalError, toErrorShape } from '../errors.js'
import { credentialsKey } from '../piece-sdk/credentials.js'
import {
  type ActionContext,
  type Credentials,
  isFired,
  isWaiting,
  missingFields,
  type PieceDefinition,
  type StepLogger,
} from '../piece-sdk/define.js'
import { loadPieces, splitUses } from '../piece-sdk/registry.js'
import { portEndpoint } from './port-endpoint.js'
import {
  HOST_PORT_MESSAGE,
  type HostApi,
  type LogLevel,
  type StepReply,
  type StepTask,
  type WorkerData,
} from './protocol.js'

const channel = new MessageChannel()
parentPort!.postMessage({ type: HOST_PORT_MESSAGE, port: channel.port2 }, [channel.port2])
const host = Comlink.wrap<HostApi>(portEndpoint(channel.port1))
channel.port1.unref()

// the main thread has judged these pieces already: one that breaks here is left out quietly
const registry = loadPieces(
  (workerData as WorkerData).pieceFiles.map((file) => ({ file, origin: file, onError: 'skip' as const })),
).then((loaded) => loaded.registry)

function stepLogger(taskId: number, used: { logged: boolean }): StepLogger {
  const line = (level: LogLevel) => (msg: string, data?: unknown) => {
    used.logged = true
    void host.log(taskId, level, String(msg), data === undefined ? undefined : safeJson(data))
  }
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null'
  } catch (error) {
    return JSON.stringify(`[unserialisable: ${(error as Error).message}]`)
  }
}

function encode(value: unknown, limit: number): string {
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

async function execute(task: StepTask, used: { logged: boolean }, signal: AbortSignal): Promise<StepReply> {
  const pieces = await registry
  const action = pieces.action(task.uses)
  if (!action) throw new TerminalError('UNKNOWN_ACTION', `no piece action '${task.uses}' is loaded`)
  const piece = pieces.piece(splitUses(task.uses)[0])!
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
    attempt: task.attempt,
    idempotencyKey: task.idempotencyKey,
    log: stepLogger(task.taskId, used),
    signal,
    limits: { maxOutputBytes: task.maxOutputBytes, timeoutMs: task.timeoutMs },
    credentials: piece.auth ? await credentialsFor(task.taskId, piece) : undefined,
  }
  const result = await action.run(ctx)
  if (isWaiting(result))
    return { ok: true, kind: 'wait', until: result.until, json: encode(result.value, task.maxOutputBytes) }
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

/** The piece's configured values, asked from the host; missing required ones fail the step. */
async function credentialsFor(taskId: number, piece: PieceDefinition): Promise<Readonly<Credentials>> {
  const values = Object.freeze((await host.credentials(taskId)) ?? {})
  const missing = missingFields(piece.auth!, values)
  if (missing.length > 0) {
    const keys = missing.map((field) => `${credentialsKey(piece.name)}.${field}`).join(', ')
    throw new TerminalError(
      'NOT_CONFIGURED',
      `piece '${piece.name}' needs ${keys} in the engine's configuration`,
    )
  }
  return values
}

export default async function runStep(task: StepTask): Promise<StepReply> {
  void host.started(task.taskId)
  const used = { logged: false }
  // a timer of our own, cleared at the end: AbortSignal.timeout would outlive the step
  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(), task.timeoutMs)
  let reply: StepReply
  try {
    reply = await execute(task, used, timeout.signal)
  } catch (error) {
    reply = { ok: false, error: toErrorShape(error, 'ERROR') }
  } finally {
    clearTimeout(timer)
  }
  // log lines travel on their own channel: make sure the host has them before the step ends
  if (used.logged) await host.flush()
  return reply
}
