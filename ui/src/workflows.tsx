// The workflows: a list with their recent runs, and a page per workflow (graph, definition as
// YAML, versions, and a form to start a run).
import { useEffect, useState } from 'preact/hooks'
import { api, withQuery } from './api'
import { ErrorNote, parseJson, Scroll, Section, Status, time, useLoad } from './common'
import { StepGraph } from './graph'
import { href, navigate } from './router'
import { RUN_STATUSES, type Workflow, type WorkflowRunStats, type WorkflowSummary } from './types'

export function WorkflowList() {
  const workflows = useLoad(() => api<{ items: WorkflowSummary[] }>('/api/v1/workflows'), [])
  const stats = useLoad(
    () => api<{ items: WorkflowRunStats[] }>(withQuery('/api/v1/stats/runs', { since: '24h' })),
    [],
  )
  const byId = new Map((stats.data?.items ?? []).map((s) => [s.workflowId, s]))
  return (
    <main>
      <h1>Workflows</h1>
      <ErrorNote error={workflows.error ?? stats.error} />
      {workflows.data && workflows.data.items.length === 0 && <p>No workflow is deployed.</p>}
      {workflows.data && workflows.data.items.length > 0 && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col">Trigger</th>
              <th scope="col">Version</th>
              <th scope="col">Last run</th>
              <th scope="col">Runs in the last 24 h</th>
            </tr>
          </thead>
          <tbody>
            {workflows.data.items.map((w) => {
              const s = byId.get(w.id)
              return (
                <tr key={w.id}>
                  <td>
                    <a href={href(`/workflows/${encodeURIComponent(w.id)}`)}>{w.id}</a>
                  </td>
                  <td>{w.name ?? ''}</td>
                  <td>
                    {w.triggerKind}
                    {w.paused && (
                      <>
                        {' '}
                        <span class="badge status-waiting">paused</span>
                      </>
                    )}
                  </td>
                  <td>{w.version}</td>
                  <td>
                    {s?.lastRun ? (
                      <a href={href(`/runs/${s.lastRun.id}`)}>
                        <Status status={s.lastRun.status} />
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>
                    <Counts counts={s?.counts ?? {}} workflowId={w.id} />
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
    </main>
  )
}

function Counts({ counts, workflowId }: { counts: WorkflowRunStats['counts']; workflowId: string }) {
  const present = RUN_STATUSES.filter((s) => (counts[s] ?? 0) > 0)
  if (present.length === 0) return <span>none</span>
  return (
    <span class="counts">
      {present.map((s) => (
        <a key={s} href={href('/runs', { workflowId, status: s, since: '24h' })} class={`badge status-${s}`}>
          {counts[s]} {s}
        </a>
      ))}
    </span>
  )
}

export function WorkflowPage({ id, version }: { id: string; version: string | null }) {
  const path = `/api/v1/workflows/${encodeURIComponent(id)}`
  const current = useLoad(() => api<Workflow>(path), [id])
  const shown = useLoad(() => api<Workflow>(withQuery(path, { version })), [id, version])
  const [selected, setSelected] = useState<string>()
  const w = shown.data
  const latest = current.data?.version ?? 0
  return (
    <main>
      <h1>
        Workflow {id}
        {w?.name ? ` — ${w.name}` : ''}
      </h1>
      <ErrorNote error={shown.error ?? current.error} />
      {w && (
        <>
          <p class="meta">
            Trigger: {w.triggerKind} · version {w.version} of {latest} · stored {time(w.createdAt)} ·{' '}
            <a href={href('/runs', { workflowId: id })}>its runs</a>
          </p>
          {current.data && (
            <PauseControl
              workflow={current.data}
              changed={() => {
                current.reload()
                shown.reload()
              }}
            />
          )}
          <Section title="Graph">
            <StepGraph definition={w.definition} selected={selected} onSelect={setSelected} />
          </Section>
          {w.version === latest && current.data?.paused === false && <StartRun workflowId={id} />}
          <Section title="Definition">
            <label>
              Version{' '}
              <select
                value={String(w.version)}
                onChange={(e) =>
                  navigate(`/workflows/${encodeURIComponent(id)}`, { version: e.currentTarget.value })
                }
              >
                {Array.from({ length: latest }, (_, i) => latest - i).map((n) => (
                  <option key={n} value={String(n)}>
                    {n === latest ? `${n} (current)` : String(n)}
                  </option>
                ))}
              </select>
            </label>
            <Yaml value={w.definition} />
          </Section>
        </>
      )}
    </main>
  )
}

/** Pausing stops the workflow's trigger and its starts through the API; runs under way go on. */
function PauseControl({ workflow, changed }: { workflow: Workflow; changed: () => void }) {
  const [error, setError] = useState<Error>()
  const [busy, setBusy] = useState(false)
  const press = async () => {
    setBusy(true)
    setError(undefined)
    try {
      const action = workflow.paused ? 'resume' : 'pause'
      await api(`/api/v1/workflows/${encodeURIComponent(workflow.id)}/${action}`, { method: 'POST' })
      changed()
    } catch (err) {
      setError(err as Error)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div class="pause">
      {workflow.paused && (
        <p>
          <span class="badge status-waiting">paused</span> since {time(workflow.pausedAt)}: its trigger starts
          no runs, and neither does the API, until it is resumed. Runs under way go on.
        </p>
      )}
      <button type="button" disabled={busy} onClick={press}>
        {workflow.paused ? 'Resume' : 'Pause'}
      </button>
      <ErrorNote error={error} />
    </div>
  )
}

/** The definition as YAML; the YAML library is loaded only when a definition is shown. */
function Yaml({ value }: { value: unknown }) {
  const [text, setText] = useState('')
  useEffect(() => {
    let live = true
    import('yaml').then(({ stringify }) => live && setText(stringify(value)))
    return () => {
      live = false
    }
  }, [value])
  return (
    <Scroll label="definition as YAML">
      <pre class="yaml">{text}</pre>
    </Scroll>
  )
}

function StartRun({ workflowId }: { workflowId: string }) {
  const [text, setText] = useState('{}')
  const [error, setError] = useState<Error>()
  const [busy, setBusy] = useState(false)
  const parsed = parseJson(text)
  const problem = 'problem' in parsed ? parsed.problem : undefined
  const submit = async (e: Event) => {
    e.preventDefault()
    if (problem) return
    setBusy(true)
    setError(undefined)
    try {
      const input = 'value' in parsed && parsed.value !== undefined ? parsed.value : {}
      const run = await api<{ id: string }>(`/api/v1/workflows/${encodeURIComponent(workflowId)}/runs`, {
        method: 'POST',
        body: { input },
      })
      navigate(`/runs/${run.id}`)
    } catch (err) {
      setError(err as Error)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Section title="Start a run">
      <form onSubmit={submit} class="start-run">
        <label for="run-input">Input (JSON)</label>
        <textarea
          id="run-input"
          rows={5}
          spellcheck={false}
          value={text}
          aria-invalid={problem !== undefined}
          aria-describedby="run-input-problem"
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <p id="run-input-problem" class="problem" aria-live="polite">
          {problem ?? ''}
        </p>
        <button type="submit" disabled={busy || problem !== undefined}>
          Start run
        </button>
        <ErrorNote error={error} />
      </form>
    </Section>
  )
}
