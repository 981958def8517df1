// The commands that drive a running server (`workflows`, `start`, `runs`, `secrets`), as commander
// commands; each action answers its exit code through `done`. What they do (actions.ts, with the
// HTTP client) is loaded only when one of them runs, so that no other command pays for it.
import { RUN_STATUSES } from '../../model/status.js'
import { type Command, InvalidArgumentError, Option } from '../../vendor/commander.js'
import type * as Actions from './actions.js'
import { type Format, stdout, type Write } from './output.js'
import { DEFAULT_SERVER } from './server.js'

interface Common {
  server?: string
  output: Format
}

const stderr: Write = (text) => process.stderr.write(text)

function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('must be a whole number')
  return Number(text)
}

/** `--server` and `--output`, on every remote command (so that each one's help shows them). */
function remote(command: Command): Command {
  return command
    .addOption(
      new Option('--server <url>', `the server's base URL (default ${DEFAULT_SERVER})`).env(
        'PIECEWORK_SERVER_URL',
      ),
    )
    .addOption(
      new Option('-o, --output <format>', 'table for people, json for scripts')
        .choices(['table', 'json'])
        .default('table'),
    )
    .addHelpText('after', '\nThe API key, when the server needs one, is read from PIECEWORK_API_KEY.')
}

export function addRemoteCommands(program: Command, done: (code: number) => void): void {
  const act =
    <A extends unknown[]>(fn: (r: typeof Actions, ...args: A) => Promise<number>) =>
    async (...args: A) =>
      done(await fn(await import('./actions.js'), ...args))

  const workflows = program
    .command('workflows')
    .description("the server's workflows: list, get, deploy, delete, pause, resume")
  remote(workflows.command('list').description('list workflows (their current versions)')).action(
    act((r, o: Common) => r.listWorkflows(r.connect(o), o.output, stdout)),
  )
  remote(workflows.command('get').description('show a workflow and its steps').argument('<id>'))
    .option('--version <n>', 'an older version', wholeNumber)
    .action(
      act((r, id: string, o: Common & { version?: number }) =>
        r.getWorkflow(r.connect(o), id, o.version, o.output, stdout),
      ),
    )
  remote(
    workflows
      .command('deploy')
      .description('create or update workflows from files (folders: every .yaml, .yml, .json in them)')
      .argument('<path...>'),
  ).action(
    act((r, paths: string[], o: Common) => r.deployWorkflows(r.connect(o), paths, o.output, stdout, stderr)),
  )
  remote(
    workflows.command('delete').description('delete a workflow and its triggers').argument('<id>'),
  ).action(act((r, id: string, o: Common) => r.deleteWorkflow(r.connect(o), id, stdout)))
  remote(
    workflows.command('pause').description('pause a workflow: its triggers start no runs').argument('<id>'),
  ).action(act((r, id: string, o: Common) => r.pauseWorkflow(r.connect(o), id, true, o.output, stdout)))
  remote(workflows.command('resume').description('resume a paused workflow').argument('<id>')).action(
    act((r, id: string, o: Common) => r.pauseWorkflow(r.connect(o), id, false, o.output, stdout)),
  )

  remote(program.command('start').description('start a run of a workflow').argument('<workflow>'))
    .option('--input <json>', 'the run input: JSON, or @file.json (default {})')
    .option(
      '--wait <duration>',
      'wait up to this long (5s, 2m) for the run to end; exit 0 only when it succeeded',
    )
    .option('-f, --follow', "then print the run's log lines until it ends; exit 0 only when it succeeded")
    .option('-q, --quiet', 'print only the run id')
    .action(
      act((r, id: string, o: Common & Parameters<typeof Actions.startRun>[2]) =>
        r.startRun(r.connect(o), id, o, o.output, stdout, stderr),
      ),
    )

  const runs = program
    .command('runs')
    .description("the server's runs: list, get, logs, cancel, retry, signal")
  remote(runs.command('list').description('list runs, newest first'))
    .option('--workflow <id>', 'only runs of this workflow')
    .addOption(new Option('--status <status>', 'only runs in this status').choices(RUN_STATUSES))
    .option('--limit <n>', 'how many (default 50, at most 500)', wholeNumber)
    .option('--cursor <cursor>', 'the next page, as the last one said')
    .action(
      act((r, o: Common & Parameters<typeof Actions.listRuns>[1]) =>
        r.listRuns(r.connect(o), o, o.output, stdout, stderr),
      ),
    )
  remote(runs.command('get').description('show a run and its steps').argument('<id>'))
    .option('--wait <duration>', 'wait up to this long for it to end; exit 0 only when it succeeded')
    .action(
      act((r, id: string, o: Common & { wait?: string }) =>
        r.getRun(r.connect(o), id, o.wait, o.output, stdout, stderr),
      ),
    )
  remote(
    runs.command('logs').description("print a run's log lines (json: one object a line)").argument('<id>'),
  )
    .option('-f, --follow', 'go on until the run ends; exit 0 succeeded, 1 failed or cancelled')
    .action(
      act((r, id: string, o: Common & { follow?: boolean }) =>
        r.followLogs(r.connect(o), id, o, o.output, stdout),
      ),
    )
  remote(runs.command('cancel').description('cancel a run that has not ended').argument('<id>')).action(
    act((r, id: string, o: Common) => r.cancelRun(r.connect(o), id, o.output, stdout)),
  )
  remote(
    runs.command('retry').description('go on from the failed steps of a failed run').argument('<id>'),
  ).action(act((r, id: string, o: Common) => r.retryRun(r.connect(o), id, o.output, stdout)))
  remote(runs.command('signal').description('send a run a signal').argument('<id>').argument('<name>'))
    .option('--data <json>', 'the signal data: JSON, or @file.json (default null)')
    .action(
      act((r, id: string, name: string, o: Common & { data?: string }) =>
        r.signalRun(r.connect(o), id, name, o.data, o.output, stdout),
      ),
    )
  const secrets = program
    .command('secrets')
    .description("the server's named secrets: list (names only), set, delete")
  remote(secrets.command('list').description('list secrets: names, sources and dates, never values')).action(
    act((r, o: Common) => r.listSecrets(r.connect(o), o.output, stdout)),
  )
  remote(
    secrets
      .command('set')
      .description('store a secret, its value read from standard input (or --from-env)')
      .argument('<name>'),
  )
    .option('--from-env <var>', 'take the value from this environment variable instead')
    .action(
      act(async (r, name: string, o: Common & { fromEnv?: string }) =>
        r.setSecret(r.connect(o), name, await r.secretValue(o), o.output, stdout),
      ),
    )
  remote(secrets.command('delete').description('delete a stored secret').argument('<name>')).action(
    act((r, name: string, o: Common) => r.deleteSecret(r.connect(o), name, stdout)),
  )
}
