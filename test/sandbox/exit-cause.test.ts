import { describe, expect, it } from 'vitest'
import { exitCause, fatalLine, lostAttemptError } from '../../src/sandbox/exit-cause.js'
import { OVER_MEMORY_LIMIT } from '../../src/sandbox/protocol.js'

const V8_OOM = `
<--- Last few GCs --->
FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
 1: 0xb8a9c0 node::Abort() [node]`
const V8_SIZE = `
#
# Fatal error in , line 0
# Fatal JavaScript invalid size error 268435456 (see crbug.com/1201626)
#`

describe('why a sandbox process ended', () => {
  it.each([
    [
      'its own memory limit',
      { code: null, signal: 'SIGKILL' as const, stderr: `${OVER_MEMORY_LIMIT} of 512 MB` },
      'MEMORY',
    ],
    ['a V8 heap abort', { code: null, signal: 'SIGABRT' as const, stderr: V8_OOM }, 'MEMORY'],
    ['an object past V8 size limits', { code: null, signal: 'SIGTRAP' as const, stderr: V8_SIZE }, 'MEMORY'],
    ['a kill from outside', { code: null, signal: 'SIGKILL' as const, stderr: '' }, 'CRASHED'],
    ['an exit with a code', { code: 1, signal: null, stderr: 'Error: boom' }, 'CRASHED'],
  ])('%s', (_name, end, cause) => {
    expect(exitCause(end)).toBe(cause)
    expect(lostAttemptError(end)).toMatchObject({ code: cause, retryable: true })
  })

  it('names the fatal line V8 printed in the error message', () => {
    expect(fatalLine(V8_SIZE)).toBe('Fatal JavaScript invalid size error 268435456 (see crbug.com/1201626)')
    expect(lostAttemptError({ code: null, signal: 'SIGABRT', stderr: V8_OOM }).message).toMatch(
      /ran out of memory \(it was killed by SIGABRT: FATAL ERROR: Reached heap limit/,
    )
    expect(fatalLine('nothing to see')).toBeUndefined()
  })
})
