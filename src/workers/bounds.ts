// What a step may hand back besides its output, bounded where the step runs (in the sandbox, before
// anything crosses to the engine): each log line, the lines and characters of a step's whole log,
// and the message and details of its error. Pure, so that each bound is a row of a table test.
import type { ErrorShape } from '../errors.js'

export const BOUNDS = {
  /** Characters of one log line's message, and of its data as JSON. */
  lineChars: 16 * 1024,
  /** Lines one step attempt may log; later ones are counted and dropped. */
  stepLines: 1_000,
  /** Characters (messages and data) one step attempt may log. */
  stepChars: 1024 * 1024,
  /** Characters of an error's message, and of its details as JSON. */
  errorChars: 8 * 1024,
}

export type Bounds = typeof BOUNDS

/** Cuts text to `limit` characters, saying how much was cut. */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text
  return `${text.slice(0, limit)}… [${text.length - limit} characters cut]`
}

/** A step's log within its bounds: `admit` a line as it comes, `close` tells what was dropped. */
export class LogBudget {
  private lines = 0
  private chars = 0
  private dropped = 0

  constructor(private readonly bounds: Bounds = BOUNDS) {}

  /** The line as it may cross (cut to size), or undefined when the step's log is full. */
  admit(msg: string, data: string | undefined): { msg: string; data: string | undefined } | undefined {
    const line = {
      msg: truncate(msg, this.bounds.lineChars),
      data:
        data === undefined || data.length <= this.bounds.lineChars
          ? data
          : JSON.stringify(`[data of ${data.length} characters dropped: over the line limit]`),
    }
    const size = line.msg.length + (line.data?.length ?? 0)
    if (this.lines >= this.bounds.stepLines || this.chars + size > this.bounds.stepChars) {
      this.dropped++
      return undefined
    }
    this.lines++
    this.chars += size
    return line
  }

  /** The closing line when lines were dropped. */
  close(): string | undefined {
    if (this.dropped === 0) return undefined
    return `${this.dropped} log line(s) dropped: the step went over its log limit of ${this.bounds.stepLines} lines or ${this.bounds.stepChars} characters`
  }
}

/** An error as it may cross: its message and its details (as JSON) cut to size. */
export function boundError(error: ErrorShape, limit = BOUNDS.errorChars): ErrorShape {
  const bounded = { ...error, message: truncate(String(error.message), limit) }
  if (error.details === undefined) return bounded
  let json: string | undefined
  try {
    json = JSON.stringify(error.details)
  } catch {
    json = undefined
  }
  if (json === undefined) delete bounded.details
  else if (json.length > limit)
    bounded.details = { truncated: true, characters: json.length, start: json.slice(0, limit) }
  return bounded
}
