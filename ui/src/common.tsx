// Small pieces shared by the pages: loading data, status badges, JSON blocks, times, errors.
import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError } from './api'

export interface Loaded<T> {
  data: T | undefined
  error: Error | undefined
  reload: () => void
}

/** Runs `load` when `deps` change (and on `reload`); keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<Error>()
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    load().then(
      (value) => {
        if (!live) return
        setData(value)
        setError(undefined)
      },
      (e: Error) => live && setError(e),
    )
    return () => {
      live = false
    }
  }, [...deps, tick])
  return { data, error, reload: useCallback(() => setTick((t) => t + 1), []) }
}

export function Status({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>
}

/** Longer JSON is cut: a page of a thousand items' outputs would be slow to lay out, and unread. */
const JSON_SHOWN = 20_000

export function Json({ value, label }: { value: unknown; label: string }) {
  const text = value === undefined ? '—' : JSON.stringify(value, null, 2)
  return (
    <Scroll label={label}>
      <pre>
        {text.length > JSON_SHOWN
          ? `${text.slice(0, JSON_SHOWN)}\n… (${(text.length - JSON_SHOWN).toLocaleString()} more characters)`
          : text}
      </pre>
    </Scroll>
  )
}

/** A block that may scroll: labelled, and reachable by keyboard so that it can be scrolled. */
export function Scroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling block must be reachable by keyboard
    <section class="scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  )
}

export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null
  const code = error instanceof ApiError ? `${error.status} ${error.code}: ` : ''
  const details =
    error instanceof ApiError && Array.isArray(error.details)
      ? (error.details as { path: string; message: string }[])
      : []
  return (
    <div class="error-note" role="alert">
      {code}
      {error.message}
      {details.length > 0 && (
        <ul>
          {details.map((d) => (
            <li key={`${d.path}${d.message}`}>
              {d.path}: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  )
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${d.toLocaleTimeString()}`
}

export function duration(from: string | null, to: string | null, now = Date.now()): string {
  if (!from) return '—'
  const ms = (to ? Date.parse(to) : now) - Date.parse(from)
  if (ms < 1000) return `${ms} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** Parses JSON typed into a form: the value, or the reason it is not JSON. */
export function parseJson(text: string): { value: unknown } | { problem: string } {
  if (text.trim() === '') return { value: undefined }
  try {
    return { value: JSON.parse(text) }
  } catch (e) {
    return { problem: `not valid JSON: ${(e as Error).message}` }
  }
}
