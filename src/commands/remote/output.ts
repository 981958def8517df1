// What the remote commands print: aligned tables for people, JSON for scripts (`--output json`).

export type Format = 'table' | 'json'

export type Write = (text: string) => void

export const stdout: Write = (text) => process.stdout.write(text)

/** Rows as text columns under upper-case headings, each column as wide as its widest cell. */
export function table(headings: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headings.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => String(c ?? '-')))]
  const widths = headings.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('')
}

/** `value` as indented JSON (one document), for `--output json`. */
export const asJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

/** A time as people read it: `2026-01-01 09:00:00` (UTC). */
export function when(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-'
}

/** How long from `start` to `end` (or now): 850ms, 12.3s, 4m05s. */
export function duration(start: string | null, end: string | null): string {
  if (!start) return '-'
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start)
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`
}

/** A JSON value on one line, cut to `max` characters. */
export function brief(value: unknown, max = 60): string {
  if (value === null || value === undefined) return '-'
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
