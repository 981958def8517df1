// Why a sandbox process ended, from what the engine can see of it: its exit code or signal and the
// last lines it wrote to stderr. Pure, so that each case is a row of a table test.
import type { ErrorShape } from '../errors.js'
import { OVER_MEMORY_LIMIT } from './protocol.js'

export interface ProcessEnd {
  code: number | null
  signal: NodeJS.Signals | null
  /** The tail of what the process wrote to stderr. */
  stderr: string
  /** The engine killed it: a step in it went past its timeout and did not stop. */
  killedForTimeout?: boolean
}

/**
 * V8's words when an allocation fails for good (the process aborts right after them), and when an
 * object would pass the largest size V8 allows (it stops the process with a trap).
 */
const OUT_OF_MEMORY = /out of memory|allocation failed|Reached heap limit|invalid size error/i

/** The line of stderr that says what happened, if there is one (V8 prints it before it aborts). */
export function fatalLine(stderr: string): string | undefined {
  const lines = stderr.split('\n')
  const line =
    lines.find((l) => /out of memory|allocation failed|invalid size|over its memory limit/i.test(l)) ??
    lines.find((l) => /fatal/i.test(l))
  return line?.replace(/^[#\s]+/, '').slice(0, 200)
}

export function exitCause(end: ProcessEnd): 'MEMORY' | 'CRASHED' {
  if (end.stderr.includes(OVER_MEMORY_LIMIT)) return 'MEMORY'
  if (OUT_OF_MEMORY.test(end.stderr)) return 'MEMORY'
  return 'CRASHED'
}

/** The error of a step attempt that was in a sandbox process when it ended. */
export function lostAttemptError(end: ProcessEnd): ErrorShape {
  const said = fatalLine(end.stderr)
  const how = `${end.signal ? `was killed by ${end.signal}` : `exited with code ${end.code}`}${said ? `: ${said}` : ''}`
  if (exitCause(end) === 'MEMORY') {
    return {
      name: 'MemoryError',
      code: 'MEMORY',
      message: `the sandbox process running the step ran out of memory (it ${how})`,
      retryable: true,
    }
  }
  return {
    name: 'CrashedError',
    code: 'CRASHED',
    message: `the sandbox process running the step ${how}`,
    retryable: true,
  }
}
