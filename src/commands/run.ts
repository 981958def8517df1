// `piecework run FILE`: one run of one workflow, in process, printed as JSON on stdout.
import { readFile } from 'node:fs/promises'
import { loadDefinitionFile } from '../definition/load.js'
import { ValidationError } from '../errors.js'
import { Engine, type EngineOptions } from '../runtime/engine.js'

export interface RunCommandOptions {
  file: string
  input?: string
  engine: EngineOptions
  progress: (line: string) => void
}

export async function parseInputArg(arg: string | undefined): Promise<unknown> {
  if (arg === undefined) return {}
  const text = arg.startsWith('@')
    ? await readFile(arg.slice(1), 'utf8').catch((e: Error) => {
        throw new ValidationError(`--input: cannot read ${arg.slice(1)}: ${e.message}`)
      })
    : arg
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ValidationError(`--input is not JSON: ${(error as Error).message}`)
  }
}

/** Returns the exit code: 0 succeeded, 1 failed or cancelled. Invalid input throws a ValidationError. */
export async function runCommand(options: RunCommandOptions): Promise<number> {
  const input = await parseInputArg(options.input)
  const definition = await loadDefinitionFile(options.file)
  const engine = await Engine.open(options.engine)
  try {
    // no warm-up: a run of pure steps never starts a thread or a sandbox process
    engine.compile(definition)
    engine.events.on('step', (_runId, step) => {
      const extra =
        step.error && step.status !== 'succeeded' ? ` (${step.error.code}: ${step.error.message})` : ''
      options.progress(
        `step ${step.id} ${step.status}${step.attempts > 1 ? ` [attempt ${step.attempts}]` : ''}${extra}`,
      )
    })
    engine.events.on('log', (_runId, stepId, level, msg) =>
      options.progress(`  ${stepId ?? '-'} ${level}: ${msg}`),
    )
    const run = await engine.runOnce(definition, input)
    options.progress(`run ${run.id} ${run.status}`)
    process.stdout.write(`${JSON.stringify(run, null, 2)}\n`)
    return run.status === 'succeeded' ? 0 : 1
  } finally {
    await engine.close()
  }
}
