// The worker entry: locks the realm down, loads the pieces, and runs one step per task. It never
// touches the database: everything it needs arrives with the task, logs go back over comlink.
import './lockdown.js'
import { MessageChannel, parentPort, workerData } from 'node:worker_threads'
import * as Comlink from 'comlink'
import { TerminalError } from '../errors.js'
import { credentialsKey } from '../piece-sdk/credentials.js'
import { type Credentials, missingFields, type PieceDefinition } from '../piece-sdk/define.js'
import { loadPieces } from '../piece-sdk/registry.js'
import { executeStep, stepLogger } from './execute.js'
import { portEndpoint } from './port-endpoint.js'
import {
  HOST_PORT_MESSAGE,
  type HostApi,
  LEASE_UNSURE,
  LeaseDeadline,
  type StepReply,
  type StepTask,
  type WorkerData,
} from './protocol.js'

const channel = new MessageChannel()
parentPort!.postMessage({ type: HOST_PORT_MESSAGE, port: channel.port2 }, [channel.port2])
const host = Comlink.wrap<HostApi>(portEndpoint(channel.port1))
channel.port1.unref()

const shared = (workerData as WorkerData).leaseDeadline
const leases = shared && new LeaseDeadline(shared)

// the main thread has judged these pieces already: one that breaks here is left out quietly
const registry = loadPieces(
  (workerData as WorkerData).pieceFiles.map((file) => ({ file, origin: file, onError: 'skip' as const })),
).then((loaded) => loaded.registry)

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
  // a step that waited in the queue while the process was stopped past its leases does not begin
  if (leases?.passed) return { ok: false, error: LEASE_UNSURE }
  if (task.reportStart !== false) void host.started(task.taskId)
  const used = { logged: false }
  // a timer of our own, cleared at the end: AbortSignal.timeout would outlive the step
  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(), task.timeoutMs)
  let reply: StepReply
  try {
    reply = await executeStep(await registry, task, {
      log: stepLogger((level, msg, data) => {
        used.logged = true
        void host.log(task.taskId, level, msg, data)
      }),
      signal: timeout.signal,
      credentials: (piece) => credentialsFor(task.taskId, piece),
    })
  } finally {
    clearTimeout(timer)
  }
  // log lines travel on their own channel: make sure the host has them before the step ends
  if (used.logged) await host.flush()
  return reply
}
