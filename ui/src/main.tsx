// The run monitor's shell: the header, the pages by route, and the API key prompt shown whenever
// the API answers 401.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { ApiError, api, apiKey, UNAUTHORIZED_EVENT } from './api'
import { href, type Route, useRoute } from './router'
import { RunPage } from './run-page'
import { RunList } from './runs'
import { WorkflowList, WorkflowPage } from './workflows'
import './style.css'

function Page({ route }: { route: Route }) {
  const [first, second] = route.path
  if (first === 'workflows' && second)
    return <WorkflowPage id={second} version={route.query.get('version')} />
  if (first === 'runs' && second) return <RunPage id={second} />
  if (first === 'runs') return <RunList query={route.query} />
  if (first === undefined || first === 'workflows') return <WorkflowList />
  return (
    <main>
      <h1>Not found</h1>
      <p>
        Nothing is at this address. <a href={href('/')}>See the workflows</a>.
      </p>
    </main>
  )
}

function KeyPrompt({ onAccepted }: { onAccepted: () => void }) {
  const [key, setKey] = useState('')
  const [problem, setProblem] = useState<string>()
  const submit = async (e: Event) => {
    e.preventDefault()
    apiKey.set(key.trim())
    try {
      await api('/api/v1/workflows')
      onAccepted()
    } catch (error) {
      apiKey.clear()
      setProblem(
        error instanceof ApiError && error.status === 401
          ? `The key was refused: ${error.message}.`
          : `Could not check the key: ${(error as Error).message}`,
      )
    }
  }
  return (
    <main class="key-prompt">
      <h1>API key needed</h1>
      <p>This piecework server needs an API key. It is kept in this browser tab only, until you close it.</p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby="key-problem"
        />
        <button type="submit" disabled={key.trim() === ''}>
          Sign in
        </button>
        <p id="key-problem" role="alert">
          {problem ?? ''}
        </p>
      </form>
    </main>
  )
}

/** The tab's title names the page, for the browser's history and for screen readers. */
function titleOf(route: Route): string {
  const [first, second] = route.path
  if (first === 'workflows' && second) return `Workflow ${second}`
  if (first === 'runs' && second) return `Run ${second.slice(0, 8)}`
  return first === 'runs' ? 'Runs' : 'Workflows'
}

function App() {
  const route = useRoute()
  useEffect(() => {
    document.title = `${titleOf(route)} · piecework`
  }, [route])
  const [needKey, setNeedKey] = useState(false)
  const [epoch, setEpoch] = useState(0)
  useEffect(() => {
    const ask = () => setNeedKey(true)
    window.addEventListener(UNAUTHORIZED_EVENT, ask)
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, ask)
  }, [])
  const section = route.path[0] === 'runs' ? 'runs' : 'workflows'
  return (
    <>
      <header class="top">
        <a href={href('/')} class="brand">
          piecework
        </a>
        <nav aria-label="main">
          <a href={href('/workflows')} aria-current={section === 'workflows' ? 'page' : undefined}>
            Workflows
          </a>
          <a href={href('/runs')} aria-current={section === 'runs' ? 'page' : undefined}>
            Runs
          </a>
        </nav>
        {apiKey.get() && !needKey && (
          <button
            type="button"
            class="link"
            onClick={() => {
              apiKey.clear()
              setNeedKey(true)
            }}
          >
            Forget the API key
          </button>
        )}
      </header>
      {needKey ? (
        <KeyPrompt
          onAccepted={() => {
            setNeedKey(false)
            setEpoch((e) => e + 1)
          }}
        />
      ) : (
        <Page key={`${epoch}:${route.path.join('/')}`} route={route} />
      )}
    </>
  )
}

render(<App />, document.getElementById('app')!)
