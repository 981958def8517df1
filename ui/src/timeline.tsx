// The run's timeline: one bar per step from its start to its end (or now), on the run's time scale,
// with its attempts; waiting steps are marked.
import { duration } from './common'
import type { Run } from './types'

export function Timeline({ run, onSelect }: { run: Run; onSelect: (stepId: string) => void }) {
  const started = run.steps.filter((s) => s.startedAt)
  if (started.length === 0) return null
  const now = Date.now()
  const t0 = Math.min(...started.map((s) => Date.parse(s.startedAt!)))
  const end = (s: (typeof started)[number]) => (s.finishedAt ? Date.parse(s.finishedAt) : now)
  const t1 = Math.max(t0 + 1, ...started.map(end))
  const pct = (t: number) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(2)}%`
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
          .map((s) => (
            <li key={s.id}>
              <button type="button" class="timeline-label" onClick={() => onSelect(s.id)}>
                {s.id}
              </button>
              <span class="timeline-track">
                <span
                  class={`timeline-bar status-${s.status}`}
                  style={{
                    left: pct(Date.parse(s.startedAt!)),
                    width: `max(2px, calc(${pct(end(s))} - ${pct(Date.parse(s.startedAt!))}))`,
                  }}
                />
              </span>
              <span class="timeline-note">
                {s.status} · {duration(s.startedAt, s.finishedAt, now)}
                {s.attempts > 1 ? ` · ${s.attempts} attempts (${s.attempts - 1} retried)` : ''}
                {s.waitingFor ? ` · waits for '${s.waitingFor.signal}'` : ''}
              </span>
            </li>
          ))}
      </ol>
    </section>
  )
}
