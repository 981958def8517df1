// `piecework run FILE`: one run of one workflow, in process, printed as JSON on stdout.
import { loadDefinitionFile } from '../definition/load.js'
import { ValidationError } from '../errors.js'
import { Engine, type EngineOptions } from '../runtime/engine.js'
import { parseJsonArg } from './json-arg.js'
import { definitionFiles } from './validate.js'

export interface RunCommandOptions {
  file: string
  input?: string
  /** Folders (or files) of definitions that `workflow.run` steps may call. */
  workflows?: string[]
  /** `NAME=JSON`: signals sent to the run up front. */
  signals?: string[]
  engine: EngineOptions
  progress: (line: string) => void
}

/** `--signal NAME=JSON` (the data may be left out: `NAME` alone sends null). */
export function parseSignalArg(arg: string): { name: string; data: unknown } {
  const at = arg.indexOf('=')
  const name = at < 0 ? arg : arg.slice(0, at)
  if (!name) throw new ValidationError(`--signal '${arg}': expected NAME=JSON`)
  if (at < 0) return { name, data: null }
  try {
    return { name, data: JSON.parse(arg.slice(at + 1)) }
  } catch (error) {
    throw new ValidationError(`--signal ${name}: the data is not JSON: ${(error as Error).message}`)
  }
}

export async function parseInputArg(arg: string | undefined): Promise<unknown> {
  return arg === undefined ? {} : parseJsonArg('--input', arg)
}

/** What a waiting step waits for, as its progress line says it. */
function waitingFor(step: {
  wait?: { signal: string; until?: number }
  childRunId?: string
  wakeAt?: number
}) {
  if (step.childRunId && step.wait) return ` for its child run ${step.childRunId}`
  const until = (at: number | undefined) => (at === undefined ? '' : ` until ${new Date(at).toISOString()}`)
  if (step.wait) return ` for signal '${step.wait.signal}'${until(step.wait.until)}`
  return until(step.wakeAt)
}

/**
 * Returns the exit code: 0 succeeded, 1 failed or cancelled, 3 left waiting for a signal that was
 * not given. Invalid input throws a ValidationError.
 */
export async function runCommand(options: RunCommandOptions): Promise<number> {
  const input = await parseInputArg(options.input)
  const signals = (options.signals ?? []).map(parseSignalArg)
  const definition = await loadDefinitionFile(options.file)
  const callable = await Promise.all(definitionFiles(options.workflows ?? []).map(loadDefinitionFile))
  // sandbox processes start while the database opens if a step needs them; the pool's threads
  // start at their first step: a run of pure steps never starts a thread or a sandbox process
  const engine = await Engine.open({ ...options.engine, startSandboxFor: [definition, ...callable] })
  try {
    engine.compile(definition)
    for (const other of callable) await engine.deploy(other)
    // the first run that reports a step is the one started here; child runs come later
    let mainRun: string | undefined
    engine.events.on('step', (runId, step) => {
      mainRun ??= runId
      const extra =
        step.error && step.status !== 'succeeded' ? ` (${step.error.code}: ${step.error.message})` : ''
      const waiting = step.status === 'waiting' ? waitingFor(step) : ''
      const who = runId === mainRun ? '' : `[${runId.slice(0, 8)}] `
      options.progress(
        `${who}step ${step.id} ${step.status}${waiting}${step.attempts > 1 ? ` [attempt ${step.attempts}]` : ''}${extra}`,
      )
    })
    engine.events.on('log', (_runId, stepId, level, msg) =>
      options.progress(`  ${stepId ?? '-'} ${level}: ${msg}`),
    )
    const run = await engine.runOnce(definition, input, signals)
    options.progress(`run ${run.id} ${run.status}`)
    if (run.status === 'waiting') {
      const names = run.steps.flatMap((s) => (s.waitingFor ? [`'${s.waitingFor.signal}'`] : []))
      options.progress(
        `the run waits for signal ${names.join(', ')}, which nothing can send to \`piecework run\`: ` +
          'give it up front with --signal NAME=JSON, or run the workflow under `piecework serve`',
      )
    }
    process.stdout.write(`${JSON.stringify(run, null, 2)}\n`)
    return run.status === 'succeeded' ? 0 : run.status === 'waiting' ? 3 : 1
  } finally {
    await engine.close()
  }
}
