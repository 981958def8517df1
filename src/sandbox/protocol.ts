// Messages between the engine and a sandbox process, over the child's IPC channel: a discriminated
// union with a request id, like the thread protocol one level down (src/workers/protocol.ts).
import type { Credentials } from '../piece-sdk/define.js'
import type { LogLevel, StepReply, StepTask } from '../workers/protocol.js'

/** What a sandbox process needs to host its worker threads; sent once, never on the command line. */
export interface SandboxInit {
  type: 'init'
  threads: number
  memoryLimitMb: number
  pieceFiles: string[]
  credentials: Record<string, Credentials>
  /** The process ends itself (saying OVER_MEMORY_LIMIT) when its resident memory passes this. */
  rssLimitMb: number
}

export type ToSandbox =
  | SandboxInit
  | { type: 'run'; id: number; task: Omit<StepTask, 'taskId'> }
  | { type: 'cancel'; id: number }

export type FromSandbox =
  | { type: 'ready' }
  | { type: 'log'; id: number; level: LogLevel; msg: string; data: unknown }
  | { type: 'reply'; id: number; reply: StepReply }

/** What a sandbox process writes to stderr before it ends itself for going over its memory limit. */
export const OVER_MEMORY_LIMIT = 'sandbox process over its memory limit'
