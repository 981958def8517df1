// The runs list: filtered by workflow, status and time, newest first, paged by cursor; the first
// page refreshes itself every two seconds.
import { useEffect, useState } from 'preact/hooks'
import { api, withQuery } from './api'
import { duration, ErrorNote, Status, time, useLoad } from './common'
import { href, navigate } from './router'
import { type Page, RUN_STATUSES, type RunSummary, type WorkflowSummary } from './types'

const PAGE = 25
const SINCE: [string, string][] = [
  ['', 'any time'],
  ['1h', 'the last hour'],
  ['24h', 'the last 24 hours'],
  ['7d', 'the last 7 days'],
]
const REFRESH_MS = 2_000

export function RunList({ query }: { query: URLSearchParams }) {
  const filter = {
    workflowId: query.get('workflowId') ?? undefined,
    status: query.get('status') ?? undefined,
    since: query.get('since') ?? undefined,
  }
  const key = JSON.stringify(filter)
  const [cursors, setCursors] = useState<string[]>([])
  useEffect(() => setCursors([]), [key])
  const cursor = cursors[cursors.length - 1]
  const page = useLoad(
    () => api<Page<RunSummary>>(withQuery('/api/v1/runs', { ...filter, limit: PAGE, cursor })),
    [key, cursor],
  )
  const workflows = useLoad(() => api<{ items: WorkflowSummary[] }>('/api/v1/workflows'), [])
  // live: the first page is read again while it is shown
  useEffect(() => {
    if (cursor) return
    const timer = setInterval(page.reload, REFRESH_MS)
    return () => clearInterval(timer)
  }, [cursor, page.reload])
  const set = (name: string, value: string) =>
    navigate('/runs', { ...filter, [name]: value || undefined } as Record<string, string | undefined>)
  return (
    <main>
      <h1>Runs</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Workflow{' '}
          <select value={filter.workflowId ?? ''} onChange={(e) => set('workflowId', e.currentTarget.value)}>
            <option value="">all</option>
            {(workflows.data?.items ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status{' '}
          <select value={filter.status ?? ''} onChange={(e) => set('status', e.currentTarget.value)}>
            <option value="">all</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started in{' '}
          <select value={filter.since ?? ''} onChange={(e) => set('since', e.currentTarget.value)}>
            {SINCE.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={page.error} />
      {page.data && (
        <>
          <table class="list runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Workflow</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((r) => (
                <tr key={r.id} data-run={r.id}>
                  <td>
                    <a href={href(`/runs/${r.id}`)} class="mono">
                      {r.id.slice(0, 8)}
                    </a>
                  </td>
                  <td>
                    <a href={href(`/workflows/${encodeURIComponent(r.workflowId)}`)}>{r.workflowId}</a> v
                    {r.workflowVersion}
                  </td>
                  <td>
                    <Status status={r.status} />
                  </td>
                  <td>{time(r.createdAt)}</td>
                  <td>{duration(r.startedAt, r.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.data.items.length === 0 && <p>No run matches.</p>}
          <nav class="pager" aria-label="pages">
            <button
              type="button"
              disabled={cursors.length === 0}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Newer
            </button>
            <button
              type="button"
              disabled={!page.data.nextCursor}
              onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
            >
              Older
            </button>
          </nav>
        </>
      )}
    </main>
  )
}
