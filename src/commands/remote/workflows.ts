// `piecework workflows list | get | deploy | delete`: the workflows of a running server.
import { type Problem, ValidationError } from '../../errors.js'
import { type Connection, RemoteError, unwrap } from './client.js'
import { asJson, type Format, table, type Write, when } from './output.js'

const stateOf = (w: { paused: boolean }) => (w.paused ? 'paused' : 'active')

export async function listWorkflows({ api }: Connection, format: Format, out: Write): Promise<number> {
  const page = await unwrap(api.GET('/api/v1/workflows'))
  if (format === 'json') out(asJson(page))
  else if (page.items.length === 0) out('no workflows\n')
  else
    out(
      table(
        ['id', 'version', 'trigger', 'state', 'name', 'updated'],
        page.items.map((w) => [w.id, w.version, w.triggerKind, stateOf(w), w.name, when(w.updatedAt)]),
      ),
    )
  return 0
}

export async function getWorkflow(
  { api }: Connection,
  id: string,
  version: number | undefined,
  format: Format,
  out: Write,
): Promise<number> {
  const query = version === undefined ? {} : { version }
  const w = await unwrap(api.GET('/api/v1/workflows/{id}', { params: { path: { id }, query } }))
  if (format === 'json') {
    out(asJson(w))
    return 0
  }
  const steps = (w.definition.steps ?? []) as { id: string; uses: string; needs?: unknown }[]
  out(
    `${w.id}${w.name ? ` (${w.name})` : ''}: version ${w.version}, trigger ${w.triggerKind}, ${stateOf(w)}, ` +
      `updated ${when(w.updatedAt)}\n`,
  )
  out(
    table(
      ['step', 'uses', 'needs'],
      steps.map((s) => [s.id, s.uses, [s.needs ?? []].flat().join(', ') || null]),
    ),
  )
  return 0
}

export async function deleteWorkflow({ api }: Connection, id: string, out: Write): Promise<number> {
  await unwrap(api.DELETE('/api/v1/workflows/{id}', { params: { path: { id } } }))
  out(`deleted ${id}\n`)
  return 0
}

/** Pauses (`pause` true) or resumes a workflow. */
export async function pauseWorkflow(
  { api }: Connection,
  id: string,
  pause: boolean,
  format: Format,
  out: Write,
): Promise<number> {
  const params = { params: { path: { id } } }
  const w = await unwrap(
    pause
      ? api.POST('/api/v1/workflows/{id}/pause', params)
      : api.POST('/api/v1/workflows/{id}/resume', params),
  )
  out(
    format === 'json' ? asJson(w) : `${w.id}: ${w.paused ? `paused since ${when(w.pausedAt)}` : 'active'}\n`,
  )
  return 0
}

type Outcome = { file: string; id?: string; version?: number; change?: string; error?: string }

/** One file: created when its id is new, else a new version (or nothing when it is unchanged). */
async function deployFile({ api }: Connection, file: string): Promise<Outcome> {
  const { loadDefinitionFile } = await import('../../definition/load.js')
  const definition = (await loadDefinitionFile(file)) as { id?: unknown }
  if (typeof definition !== 'object' || definition === null || typeof definition.id !== 'string')
    throw new RemoteError(`${file}: not a workflow definition (it has no id)`, 2)
  const id = definition.id
  const path = { id }
  const before = await api.GET('/api/v1/workflows/{id}', { params: { path, query: {} } })
  if (before.response.status === 404) {
    const created = await unwrap(api.POST('/api/v1/workflows', { body: definition as never }))
    return { file, id, version: created.version, change: 'created' }
  }
  const current = await unwrap(before)
  const updated = await unwrap(
    api.PUT('/api/v1/workflows/{id}', { params: { path }, body: definition as never }),
  )
  return {
    file,
    id,
    version: updated.version,
    change: updated.version === current.version ? 'unchanged' : 'updated',
  }
}

/** The problems a refusal lists: from the server's answer, or from reading the file here. */
function problemsOf(error: unknown): Problem[] {
  if (error instanceof RemoteError) return error.details
  if (error instanceof ValidationError) return error.problems
  if (error instanceof Error) return []
  throw error
}

/**
 * Deploys every file (folders are walked for .yaml, .yml and .json files), each on its own: a file
 * the server refuses is reported and the others go on. Exit 2 when any was refused.
 */
export async function deployWorkflows(
  connection: Connection,
  paths: string[],
  format: Format,
  out: Write,
  err: Write,
): Promise<number> {
  const outcomes: Outcome[] = []
  // the file walk is validate's, loaded only here (it brings the definition checks)
  const { definitionFiles } = await import('../validate.js')
  for (const file of definitionFiles(paths)) {
    try {
      outcomes.push(await deployFile(connection, file))
    } catch (error) {
      // the server is away or failing: the files after this one would fail the same way
      if (error instanceof RemoteError && error.exit === 1) throw error
      const lines = [(error as Error).message, ...problemsOf(error).map((p) => `  ${p.path}: ${p.message}`)]
      outcomes.push({ file, error: lines.join('\n') })
      if (format === 'table') err(`piecework: ${file}: ${lines.join('\n')}\n`)
    }
  }
  if (format === 'json') out(asJson(outcomes))
  else {
    const deployed = outcomes.filter((o) => !o.error)
    if (deployed.length > 0)
      out(
        table(
          ['file', 'workflow', 'version', 'change'],
          deployed.map((o) => [o.file, o.id, o.version, o.change]),
        ),
      )
  }
  return outcomes.some((o) => o.error) ? 2 : 0
}
