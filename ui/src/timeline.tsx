// The run's timeline: one bar per step from its start to its end (or now), on the run's time scale.
// A retried step's bar shows each failed attempt's end and the wait before the next attempt (from
// the engine's retry lines in the run's log); waiting steps are striped.
import { useEffect, useState } from 'preact/hooks'
import { api } from './api'
import { duration } from './common'
import type { LogLine, Page, Run } from './types'

interface Retry {
  attempt: number
  code: string
  at: number
  waitMs: number
}

/** The retries of each step, from the `data` of the engine's retry lines (the first 500 lines). */
function useRetries(run: Run): Map<string, Retry[]> {
  const [retries, setRetries] = useState(new Map<string, Retry[]>())
  const retried = run.steps.reduce((n, s) => n + Math.max(0, s.attempts - 1), 0)
  useEffect(() => {
    if (retried === 0) return
    let live = true
    api<Page<LogLine>>(`/api/v1/runs/${run.id}/logs?limit=500`).then(
      (page) => {
        if (!live) return
        const found = new Map<string, Retry[]>()
        for (const line of page.items) {
          const d = line.data as { attempt?: number; code?: string; retryInMs?: number } | null
          if (!line.stepId || typeof d?.retryInMs !== 'number') continue
          const list = found.get(line.stepId) ?? []
          list.push({
            attempt: d.attempt ?? list.length + 1,
            code: d.code ?? '',
            at: Date.parse(line.ts),
            waitMs: d.retryInMs,
          })
          found.set(line.stepId, list)
        }
        setRetries(found)
      },
      () => {}, // the bars without their retries: the step panel's log shows them
    )
    return () => {
      live = false
    }
  }, [run.id, retried])
  return retries
}

export function Timeline({ run, onSelect }: { run: Run; onSelect: (stepId: string) => void }) {
  const retries = useRetries(run)
  const started = run.steps.filter((s) => s.startedAt)
  if (started.length === 0) return null
  const now = Date.now()
  const t0 = Math.min(...started.map((s) => Date.parse(s.startedAt!)))
  const end = (s: (typeof started)[number]) => (s.finishedAt ? Date.parse(s.finishedAt) : now)
  const t1 = Math.max(t0 + 1, ...started.map(end))
  const pct = (t: number) => `${(((Math.min(t, t1) - t0) / (t1 - t0)) * 100).toFixed(2)}%`
  const span = (from: number, to: number) => ({
    left: pct(from),
    width: `max(2px, calc(${pct(to)} - ${pct(from)}))`,
  })
  return (
    <section aria-label="Timeline">
      <h2>Timeline</h2>
      <p class="meta">
        {started.length} of {run.steps.length} steps started ·{' '}
        {duration(new Date(t0).toISOString(), new Date(t1).toISOString())}
      </p>
      <ol class="timeline">
        {started
          .sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!))
          .map((s) => {
            const own = retries.get(s.id) ?? []
            return (
              <li key={s.id} data-step={s.id}>
                <button type="button" class="timeline-label" onClick={() => onSelect(s.id)}>
                  {s.id}
                </button>
                <span class="timeline-track">
                  <span
                    class={`timeline-bar status-${s.status}`}
                    style={span(Date.parse(s.startedAt!), end(s))}
                  />
                  {own.map((r) => (
                    <span
                      key={r.attempt}
                      class="timeline-wait"
                      title={`attempt ${r.attempt} failed (${r.code}); the next began ${r.waitMs} ms later`}
                      style={span(r.at, r.at + r.waitMs)}
                    />
                  ))}
                </span>
                <span class="timeline-note">
                  {s.status} · {duration(s.startedAt, s.finishedAt, now)}
                  {s.attempts > 1 ? ` · ${s.attempts} attempts` : ''}
                  {own.length > 0 ? ` (${own.map((r) => `${r.code} then ${r.waitMs} ms`).join(', ')})` : ''}
                  {s.waitingFor ? ` · waits for '${s.waitingFor.signal}'` : ''}
                </span>
              </li>
            )
          })}
      </ol>
    </section>
  )
}
