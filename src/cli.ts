#!/usr/bin/env node
import { addRemoteCommands } from './commands/remote/index.js'
import { isEngineError, ValidationError } from './errors.js'
import type { PieceSource } from './piece-sdk/sources.js'
// The command line: serve | run | validate | migrate here, and the commands that drive a running
// server (src/commands/remote). Only wiring; the work is in src/commands.
import { Command, CommanderError, Option } from './vendor/commander.js'
import { PACKAGE_VERSION } from './version.js'

/** A repeatable option's values, in the order given. */
const collect = (value: string, previous: string[] = []) => [...previous, value]

function pieceSources(values: string[] | undefined): PieceSource[] {
  return (values ?? []).map((from) => ({ from, onError: 'fail' as const }))
}

/** A usage mistake as one line, with the command or option meant when one is close. */
function usageLine(text: string): string {
  const line = text
    .replace(/^error: /, '')
    .replace(/\s*\(Did you mean (.+)\?\)/, ' (did you mean $1?)')
    .trim()
    .replace(/\.$/, '')
  return `${line}; see piecework help`
}

function program(done: (code: number) => void): Command {
  const cli = new Command('piecework')
    .description('A durable workflow engine: serve it, run a workflow once, or drive a running server.')
    .version(PACKAGE_VERSION, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'print the help of a command')
    .helpCommand('help [command]', 'print the help of a command')
    .configureOutput({ outputError: (text, write) => write(`piecework: ${usageLine(text)}\n`) })
    .exitOverride()
    // --version and --help before a command are the program's; after it they are the command's
    .enablePositionalOptions()
  // the subcommands made below take these settings (errors, help, exit) from here
  const pieces = new Option(
    '--pieces <path>',
    'load pieces from a folder or npm package (repeatable)',
  ).argParser(collect)

  cli
    .command('serve')
    .description('run the engine with its HTTP API until SIGINT or SIGTERM')
    .option('--config <file>', 'the configuration file (default config/piecework.yaml)')
    .action(async (o: { config?: string }) => {
      const { serveCommand } = await import('./commands/serve.js')
      done(await serveCommand({ configFile: o.config }))
    })

  cli
    .command('run')
    .description('run one workflow once, in this process; print the run as JSON')
    .argument('<file>', 'a workflow in YAML or JSON')
    .option('--input <json>', 'the trigger output: JSON, or @file.json (default {})')
    .option('--db <url>', 'sqlite:<file> or postgres://... (default: in memory)')
    .addOption(pieces)
    .option('--workflows <dir>', 'workflows that workflow.run steps may call (repeatable)', collect)
    .option('--signal <name=json>', 'a signal sent up front (repeatable)', collect)
    .option('--config <file>', 'whose secrets the run may use (default config/piecework.yaml)')
    .action(
      async (
        file: string,
        o: {
          input?: string
          db?: string
          pieces?: string[]
          workflows?: string[]
          signal?: string[]
          config?: string
        },
      ) =>
        done(
          await (await import('./commands/run.js')).runCommand({
            file,
            input: o.input,
            workflows: o.workflows,
            signals: o.signal,
            engine: {
              databaseUrl: o.db ?? 'sqlite::memory:',
              pieces: pieceSources(o.pieces),
              secrets: (await import('./config/run-secrets.js')).secretsOfConfigFile(o.config),
            },
            progress: (line) => process.stderr.write(`${line}\n`),
          }),
        ),
    )

  cli
    .command('validate')
    .description('check workflow files or folders (and piecework.yaml) without running anything')
    .argument('<path...>', 'files or folders')
    .addOption(pieces)
    .action(async (paths: string[], o: { pieces?: string[] }) => {
      const { formatProblems, validateFiles } = await import('./commands/validate.js')
      const { resolvePieceSources } = await import('./piece-sdk/sources.js')
      const { loadRegistry } = await import('./piece-sdk/registry.js')
      const { files } = resolvePieceSources(pieceSources(o.pieces))
      const reports = await validateFiles(paths, await loadRegistry(files))
      for (const r of reports) {
        if (r.ok) process.stdout.write(`ok      ${r.file}\n`)
        else process.stdout.write(`invalid ${r.file}: ${formatProblems(r.message ?? '', r.problems)}\n`)
        for (const warning of r.warnings) process.stdout.write(`warning ${r.file}: ${warning}\n`)
      }
      done(reports.every((r) => r.ok) ? 0 : 2)
    })

  cli
    .command('migrate')
    .description('bring the database schema up to date')
    .option('--db <url>', 'the database (default: PIECEWORK_DATABASE_URL, the configuration)')
    .action(async (o: { db?: string }) => {
      // --db, else the configuration (config file, PIECEWORK_DATABASE_URL, default)
      const url = o.db ?? (await import('./config/load.js')).loadConfig().config.database.url
      const db = await (await import('./store/orm.js')).openDatabase(url)
      await db.close()
      const { redactUrl } = await import('./store/faults.js')
      process.stderr.write(`the database at ${redactUrl(url)} is up to date\n`)
      done(0)
    })

  addRemoteCommands(cli, done)
  return cli
}

/** Help and --version exit 0; `piecework` alone shows the help and exits 2, as any usage error. */
function usageExit(error: CommanderError): number {
  return error.exitCode === 0 ? 0 : 2
}

async function main(argv: string[]): Promise<number> {
  let code = 0
  try {
    await program((c) => (code = c)).parseAsync(argv, { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) return usageExit(error)
    throw error
  }
  return code
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code
    },
    async (error: unknown) => {
      const { formatProblems } = await import('./commands/validate.js')
      const { RemoteError } = await import('./commands/remote/client.js')
      if (error instanceof RemoteError) {
        process.stderr.write(`piecework: ${formatProblems(error.message, error.details)}\n`)
        process.exitCode = error.exit
      } else if (error instanceof ValidationError) {
        process.stderr.write(`piecework: ${formatProblems(error.message, error.problems)}\n`)
        process.exitCode = 2
      } else if (isEngineError(error)) {
        process.stderr.write(`piecework: ${error.code}: ${error.message}\n`)
        // a broken piece is bad input, like a bad configuration
        process.exitCode = error.code === 'PIECE_INVALID' ? 2 : 1
      } else {
        process.stderr.write(`piecework: ${(error as Error)?.stack ?? String(error)}\n`)
        process.exitCode = 1
      }
    },
  )
  // `serve` resolves only once it has shut down; whatever else is still open must not keep us alive
  .finally(() => process.exit())
