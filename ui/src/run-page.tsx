// A run: its graph coloured by step status and kept live over the run's events, a timeline, the
// selected step's panel, and the actions (cancel, retry).
import { useEffect, useMemo, useState } from 'preact/hooks'
import { api, readEvents } from './api'
import { duration, ErrorNote, Json, Section, Status, time, useLoad } from './common'
import { StepGraph } from './graph'
import { href } from './router'
import { StepPanel } from './step-panel'
import { Timeline } from './timeline'
import { ENDED, type Run, type RunStatus, type Workflow } from './types'

/** Reads of the whole run are at most this often while events pour in. */
const REFRESH_MS = 250

function useLiveRun(id: string, epoch: number) {
  const [run, setRun] = useState<Run>()
  const [error, setError] = useState<Error>()
  // per step, how many log lines the events have told of: a step's panel reads its lines again
  const [logLines, setLogLines] = useState<Record<string, number>>({})
  useEffect(() => {
    const abort = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    let logTimer: ReturnType<typeof setTimeout> | undefined
    let newLines: Record<string, number> = {}
    const countLine = (stepId: string) => {
      newLines[stepId] = (newLines[stepId] ?? 0) + 1
      logTimer ??= setTimeout(() => {
        const counted = newLines
        newLines = {}
        logTimer = undefined
        setLogLines((old) => {
          const next = { ...old }
          for (const [step, n] of Object.entries(counted)) next[step] = (next[step] ?? 0) + n
          return next
        })
      }, REFRESH_MS * 2)
    }
    const refresh = () =>
      api<Run>(`/api/v1/runs/${id}`).then(
        (r) => !abort.signal.aborted && setRun(r),
        (e: Error) => !abort.signal.aborted && setError(e),
      )
    const soon = () => {
      timer ??= setTimeout(() => {
        timer = undefined
        refresh()
      }, REFRESH_MS)
    }
    let changes = 0
    const onEvent = (event: string, data: unknown) => {
      if (event !== 'snapshot') changes++
      if (event === 'snapshot') {
        setRun(data as Run)
        setError(undefined)
      } else if (event === 'step') {
        const d = data as { stepId: string; status: string; attempts: number }
        setRun(
          (r) =>
            r && {
              ...r,
              steps: r.steps.map((s) =>
                s.id === d.stepId ? { ...s, status: d.status, attempts: d.attempts } : s,
              ),
            },
        )
        soon()
      } else if (event === 'log') {
        const d = data as { stepId: string | null }
        if (d.stepId) countLine(d.stepId)
      } else if (event === 'run') {
        const d = data as { status: RunStatus }
        // an ended run is shown whole (its output or error with its status), not its status first
        if (ENDED.has(d.status)) refresh()
        else {
          setRun((r) => r && { ...r, status: d.status })
          soon()
        }
      }
    }
    readEvents(`/api/v1/runs/${id}/events`, onEvent, abort.signal).then(
      // the stream ends with the run: read it whole once more, unless the snapshot was all it sent
      () => !abort.signal.aborted && changes > 0 && refresh(),
      (e: Error) => !abort.signal.aborted && setError(e),
    )
    return () => {
      abort.abort()
      clearTimeout(timer)
      clearTimeout(logTimer)
    }
  }, [id, epoch])
  return { run, error, logLines }
}

/** A version of a workflow never changes: each is read once per page load. */
const versions = new Map<string, Promise<Workflow>>()
function workflowVersion(id: string, version: number): Promise<Workflow> {
  const key = `${id}@${version}`
  let found = versions.get(key)
  if (!found) {
    found = api<Workflow>(`/api/v1/workflows/${encodeURIComponent(id)}?version=${version}`)
    found.catch(() => versions.delete(key))
    versions.set(key, found)
  }
  return found
}

/** The step to show first: the failed one, else a waiting one, else the first. */
function firstStep(run: Run): string | undefined {
  return (
    run.error?.stepId ??
    run.steps.find((s) => s.status === 'waiting' || s.status === 'failed')?.id ??
    run.steps[0]?.id
  )
}

export function RunPage({ id }: { id: string }) {
  const [epoch, setEpoch] = useState(0)
  const { run, error, logLines } = useLiveRun(id, epoch)
  const workflow = useLoad(
    () => (run ? workflowVersion(run.workflowId, run.workflowVersion) : Promise.resolve(undefined)),
    [run?.workflowId, run?.workflowVersion],
  )
  const [selected, setSelected] = useState<string>()
  const statuses = useMemo(() => Object.fromEntries((run?.steps ?? []).map((s) => [s.id, s.status])), [run])
  const stepId = selected ?? (run && firstStep(run))
  const step = run?.steps.find((s) => s.id === stepId)
  const definition = workflow.data?.definition
  // a large run's graph and timeline are drawn again only when what they show changes
  const graph = useMemo(
    () =>
      definition && (
        <StepGraph definition={definition} statuses={statuses} selected={stepId} onSelect={setSelected} />
      ),
    [definition, statuses, stepId],
  )
  const timeline = useMemo(() => run && <Timeline run={run} onSelect={setSelected} />, [run])
  return (
    <main>
      <h1>
        Run <span class="mono">{id}</span>
      </h1>
      <ErrorNote error={error ?? workflow.error} />
      {run && (
        <>
          <p class="meta">
            <Status status={run.status} /> ·{' '}
            <a href={href(`/workflows/${encodeURIComponent(run.workflowId)}`)}>{run.workflowId}</a> v
            {run.workflowVersion} · created {time(run.createdAt)} · {duration(run.startedAt, run.finishedAt)}
            {run.parentRunId && (
              <>
                {' '}
                · started by <a href={href(`/runs/${run.parentRunId}`)}>run {run.parentRunId.slice(0, 8)}</a>
                {run.parentStepId ? ` (step ${run.parentStepId})` : ''}
              </>
            )}
          </p>
          <Actions run={run} onDone={() => setEpoch((e) => e + 1)} />
          {run.error && (
            <p class="run-error" role="alert">
              {run.error.code}: {run.error.message}
              {run.error.stepId ? ` (step ${run.error.stepId})` : ''}
            </p>
          )}
          <div class="run-layout">
            <Section title="Graph">{graph}</Section>
            {step && (
              <StepPanel
                run={run}
                step={step}
                definition={definition?.steps.find((s) => s.id === step.id)}
                logLines={logLines[step.id] ?? 0}
                onSignalled={() => setEpoch((e) => e + 1)}
              />
            )}
          </div>
          {timeline}
          <Section title="Input">
            <Json value={run.input} label="run input" />
          </Section>
          {run.status === 'succeeded' && (
            <Section title="Output">
              <Json value={run.output} label="run output" />
            </Section>
          )}
        </>
      )}
    </main>
  )
}

function Actions({ run, onDone }: { run: Run; onDone: () => void }) {
  const [answer, setAnswer] = useState<string>()
  const [error, setError] = useState<Error>()
  const act = async (what: 'cancel' | 'retry') => {
    setAnswer(undefined)
    setError(undefined)
    try {
      const r = await api<{ status: string }>(`/api/v1/runs/${run.id}/${what}`, { method: 'POST' })
      setAnswer(what === 'cancel' ? `Cancelled: the run is ${r.status}.` : `Retried: the run is ${r.status}.`)
      onDone()
    } catch (e) {
      setError(e as Error)
    }
  }
  return (
    <div class="actions">
      {!ENDED.has(run.status) && (
        <button type="button" class="danger" onClick={() => act('cancel')}>
          Cancel run
        </button>
      )}
      {run.status === 'failed' && (
        <button type="button" onClick={() => act('retry')}>
          Retry run
        </button>
      )}
      <span role="status">{answer ?? ''}</span>
      <ErrorNote error={error} />
    </div>
  )
}
