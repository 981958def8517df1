#!/usr/bin/env node
// The command line: serve | run | validate | migrate. Only wiring; the work is in src/commands.
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { runCommand } from './commands/run.js'
import { formatProblems, validateFiles } from './commands/validate.js'
import { loadConfig } from './config/load.js'
import { isEngineError, ValidationError } from './errors.js'
import { loadRegistry } from './piece-sdk/registry.js'
import { type PieceSource, resolvePieceSources } from './piece-sdk/sources.js'
import { openDatabase } from './store/orm.js'

const USAGE = `usage:
  piecework serve [--config FILE]
  piecework run FILE [--input JSON | --input @file.json] [--db URL] [--pieces PATH]...
                [--workflows DIR]... [--signal NAME=JSON]...
  piecework validate PATH... [--pieces PATH]...
  piecework migrate [--db URL]`

class UsageError extends Error {}

/** `--pieces PATH`, repeatable: folders or npm packages of pieces besides the built-ins. */
const PIECES_OPTION = { type: 'string', multiple: true } as const

function pieceSources(values: unknown): PieceSource[] {
  return ((values as string[] | undefined) ?? []).map((from) => ({ from, onError: 'fail' as const }))
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'run': {
      const { values, positionals } = parse(rest, {
        input: { type: 'string' },
        db: { type: 'string' },
        pieces: PIECES_OPTION,
        workflows: { type: 'string', multiple: true },
        signal: { type: 'string', multiple: true },
      })
      if (positionals.length !== 1) throw new UsageError('run takes exactly one workflow file')
      return runCommand({
        file: positionals[0]!,
        input: values.input as string | undefined,
        workflows: values.workflows as string[] | undefined,
        signals: values.signal as string[] | undefined,
        engine: {
          databaseUrl: (values.db as string | undefined) ?? 'sqlite::memory:',
          pieces: pieceSources(values.pieces),
        },
        progress: (line) => process.stderr.write(`${line}\n`),
      })
    }
    case 'validate': {
      const { values, positionals } = parse(rest, { pieces: PIECES_OPTION })
      if (positionals.length === 0) throw new UsageError('validate takes one or more files or folders')
      const { files } = resolvePieceSources(pieceSources(values.pieces))
      const reports = await validateFiles(positionals, await loadRegistry(files))
      for (const r of reports) {
        if (r.ok) process.stdout.write(`ok      ${r.file}\n`)
        else process.stdout.write(`invalid ${r.file}: ${formatProblems(r.message ?? '', r.problems)}\n`)
        for (const warning of r.warnings) process.stdout.write(`warning ${r.file}: ${warning}\n`)
      }
      return reports.every((r) => r.ok) ? 0 : 2
    }
    case 'migrate': {
      const { values } = parse(rest, { db: { type: 'string' } })
      // --db, else the configuration (config file, PIECEWORK_DATABASE_URL, default)
      const url = (values.db as string | undefined) ?? loadConfig().config.database.url
      const db = await openDatabase(url)
      await db.close()
      process.stderr.write(`the database at ${url.replace(/\/\/[^@/]*@/, '//***@')} is up to date\n`)
      return 0
    }
    case 'serve': {
      const { serveCommand } = await import('./commands/serve.js')
      const { values } = parse(rest, { config: { type: 'string' } })
      return serveCommand({ configFile: values.config as string | undefined })
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`)
      return command === undefined ? 2 : 0
    default:
      throw new UsageError(`unknown command '${command}'`)
  }
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`piecework: ${error.message}\n${USAGE}\n`)
        process.exitCode = 2
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
