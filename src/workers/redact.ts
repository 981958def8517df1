// Keeps configured secrets out of everything a step hands back: its output, its error, its log
// lines. A piece may echo what it was given (a service that repeats the key in an error, a debug
// line with the headers); whatever comes back is scrubbed before it is stored or logged.
import { type Credentials, SECRET_FIELDS } from '../piece-sdk/define.js'

export const REDACTED = '[redacted]'

/** Shorter values are not scrubbed: they would hit ordinary text. */
export const MIN_SECRET_LENGTH = 4

/** Every form in which a piece's secrets could appear in text: raw, JSON-escaped, URL-encoded, as Basic auth. */
export function secretForms(credentials: Credentials): string[] {
  const raw = SECRET_FIELDS.map((field) => credentials[field]).filter(
    (value): value is string => typeof value === 'string',
  )
  const basic =
    credentials.username !== undefined && credentials.password !== undefined
      ? [Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')]
      : []
  return valueForms(raw, basic)
}

/**
 * Every form in which these values could appear in text: raw, JSON-escaped (a few levels), and
 * URL-encoded; `extra` forms are added as they are. The longest first.
 */
export function valueForms(values: Iterable<string>, extra: string[] = []): string[] {
  const forms = new Set<string>(extra)
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue
    // JSON text inside JSON text escapes again: a few levels cover what a piece may nest
    let escaped = value
    for (let level = 0; level < 4; level++) {
      forms.add(escaped)
      escaped = JSON.stringify(escaped).slice(1, -1)
    }
    forms.add(encodeURIComponent(value))
  }
  // the longest first, so that a secret containing another is scrubbed whole
  return [...forms].sort((a, b) => b.length - a.length)
}

export class Redactor {
  constructor(private readonly forms: readonly string[]) {}

  get empty(): boolean {
    return this.forms.length === 0
  }

  /** The text with every secret form replaced; JSON stays JSON (the marker needs no escaping). */
  text(text: string): string {
    let result = text
    for (const form of this.forms) if (result.includes(form)) result = result.replaceAll(form, REDACTED)
    return result
  }

  /** A JSON-shaped value scrubbed through its text form. */
  value<T>(value: T): T {
    if (value === undefined) return value
    const json = JSON.stringify(value)
    const scrubbed = this.text(json)
    return scrubbed === json ? value : (JSON.parse(scrubbed) as T)
  }
}
