// One step of a run: its status and attempts, what it was given and gave back, its error and log
// lines, a forEach step's items, a sub-workflow's child runs, and for a waiting step the signal it
// waits for with a form to send it.
import { useEffect, useState } from 'preact/hooks'
import { api, withQuery } from './api'
import { duration, ErrorNote, Json, parseJson, Status, time } from './common'
import { stepKind } from './graph'
import { href } from './router'
import {
  ENDED,
  type Item,
  type LogLine,
  type Page,
  type Run,
  type StepDefinition,
  type StepView,
} from './types'

export function StepPanel(props: {
  run: Run
  step: StepView
  definition: StepDefinition | undefined
  /** Log lines of this step the run's events told of so far: the lines are read again as it grows. */
  logLines: number
  onSignalled: () => void
}) {
  const { run, step, definition } = props
  const kind = definition && stepKind(definition)
  return (
    <section class="step-panel" aria-label={`Step ${step.id}`}>
      <h2>
        Step {step.id} <Status status={step.status} />
      </h2>
      <dl class="facts">
        <dt>Uses</dt>
        <dd>
          {definition?.uses ?? '—'}
          {kind ? ` (${kind})` : ''}
        </dd>
        <dt>Attempts</dt>
        <dd>{step.attempts}</dd>
        <dt>Started</dt>
        <dd>{time(step.startedAt)}</dd>
        <dt>Took</dt>
        <dd>{duration(step.startedAt, step.finishedAt)}</dd>
      </dl>
      {step.error && (
        <div class="step-error" role="alert">
          <strong>{step.error.code}</strong>: {step.error.message}
          {step.error.details !== undefined && <Json value={step.error.details} label="error details" />}
        </div>
      )}
      {step.status === 'waiting' && step.waitingFor && !ENDED.has(run.status) && (
        <SignalForm run={run} waitingFor={step.waitingFor} onSent={props.onSignalled} />
      )}
      {step.childRunId && (
        <p>
          Child run: <a href={href(`/runs/${step.childRunId}`)}>{step.childRunId}</a>
        </p>
      )}
      {step.items && <Items run={run} step={step} />}
      <h3>Input</h3>
      {'input' in step ? <Json value={step.input} label="step input" /> : <p class="meta">not started yet</p>}
      <h3>Props (as written)</h3>
      <Json value={definition?.with ?? {}} label="step props as written" />
      <h3>Output{step.handle && step.handle !== 'out' ? ` (on ${step.handle})` : ''}</h3>
      <Json value={step.output} label="step output" />
      <Logs run={run} step={step} told={props.logLines} />
    </section>
  )
}

function SignalForm(props: {
  run: Run
  waitingFor: NonNullable<StepView['waitingFor']>
  onSent: () => void
}) {
  const { run, waitingFor } = props
  const [name, setName] = useState(waitingFor.signal)
  const [text, setText] = useState('{}')
  const [answer, setAnswer] = useState<string>()
  const [error, setError] = useState<Error>()
  const parsed = parseJson(text)
  const problem = 'problem' in parsed ? parsed.problem : undefined
  const send = async (signal: string, data: unknown) => {
    setAnswer(undefined)
    setError(undefined)
    try {
      const r = await api<{ taken: string | null }>(
        `/api/v1/runs/${run.id}/signals/${encodeURIComponent(signal)}`,
        { method: 'POST', body: { data } },
      )
      setAnswer(
        r.taken
          ? `Signal '${signal}' taken by step ${r.taken}.`
          : `Signal '${signal}' kept: no step waits for it yet.`,
      )
      props.onSent()
    } catch (e) {
      setError(e as Error)
    }
  }
  return (
    <div class="signal">
      <p>
        Waits for the signal <strong>{waitingFor.signal}</strong>
        {waitingFor.key !== undefined ? ` with key ${JSON.stringify(waitingFor.key)}` : ''}
        {waitingFor.until ? `, until ${time(waitingFor.until)}` : ''}.
      </p>
      <button type="button" onClick={() => send(waitingFor.signal, { approved: true })}>
        Approve
      </button>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (!problem) send(name, 'value' in parsed ? (parsed.value ?? null) : null)
        }}
      >
        <label>
          Signal <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label for="signal-data">Data (JSON)</label>
        <textarea
          id="signal-data"
          rows={3}
          spellcheck={false}
          value={text}
          aria-invalid={problem !== undefined}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <p class="problem" aria-live="polite">
          {problem ?? ''}
        </p>
        <button type="submit" disabled={problem !== undefined}>
          Send signal
        </button>
      </form>
      <p role="status">{answer ?? ''}</p>
      <ErrorNote error={error} />
    </div>
  )
}

/** Pages of lines: the first page again whenever `key` changes, then more on demand. */
function usePages<T>(url: (cursor?: string) => string, key: string) {
  const [items, setItems] = useState<T[]>([])
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<Error>()
  useEffect(() => {
    let live = true
    api<Page<T>>(url()).then(
      (p) => {
        if (!live) return
        setItems(p.items)
        setNext(p.nextCursor)
        setError(undefined)
      },
      (e: Error) => live && setError(e),
    )
    return () => {
      live = false
    }
  }, [key])
  const more = async () => {
    if (!next) return
    try {
      const p = await api<Page<T>>(url(next))
      setItems((old) => [...old, ...p.items])
      setNext(p.nextCursor)
    } catch (e) {
      setError(e as Error)
    }
  }
  return { items, more: next ? more : undefined, error }
}

function Logs({ run, step, told }: { run: Run; step: StepView; told: number }) {
  const logs = usePages<LogLine>(
    (cursor) => withQuery(`/api/v1/runs/${run.id}/logs`, { stepId: step.id, limit: 100, cursor }),
    `${run.id}/${step.id}/${step.status}/${step.attempts}/${told}`,
  )
  return (
    <>
      <h3>Logs</h3>
      <ErrorNote error={logs.error} />
      {logs.items.length === 0 ? (
        <p>No log lines.</p>
      ) : (
        <ol class="logs" aria-label={`log lines of step ${step.id}`}>
          {logs.items.map((l, i) => (
            <li key={`${l.ts}${i}`} class={`log-${l.level}`}>
              <span class="mono">{new Date(l.ts).toLocaleTimeString()}</span>{' '}
              <span class="level">{l.level}</span> {l.msg}
              {l.data !== null && l.data !== undefined ? ` ${JSON.stringify(l.data)}` : ''}
            </li>
          ))}
        </ol>
      )}
      {logs.more && (
        <button type="button" onClick={logs.more}>
          More log lines
        </button>
      )}
    </>
  )
}

function Items({ run, step }: { run: Run; step: StepView }) {
  const counts = step.items!
  const items = usePages<Item>(
    (cursor) =>
      withQuery(`/api/v1/runs/${run.id}/steps/${encodeURIComponent(step.id)}/items`, { limit: 50, cursor }),
    `${run.id}/${step.id}/${step.status}`,
  )
  return (
    <>
      <h3>Items</h3>
      <p>
        {counts.total} items: {counts.succeeded} succeeded, {counts.failed} failed, {counts.running} running
      </p>
      <ErrorNote error={items.error} />
      {items.items.length > 0 && (
        <table class="list items">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Output or error</th>
            </tr>
          </thead>
          <tbody>
            {items.items.map((item) => (
              <tr key={item.index}>
                <td>{item.index}</td>
                <td>
                  <Status status={item.status} />
                </td>
                <td>{item.attempts}</td>
                <td class="mono">
                  {item.childRunId && <a href={href(`/runs/${item.childRunId}`)}>child run </a>}
                  {item.error ? `${item.error.code}: ${item.error.message}` : JSON.stringify(item.output)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {items.more && (
        <button type="button" onClick={items.more}>
          More items
        </button>
      )}
    </>
  )
}
