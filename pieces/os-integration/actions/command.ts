import * as v from 'valibot'
import { defineAction, parseDuration, TerminalError } from '../../../src/piece-sdk/index.js'
import { callOs } from '../client.js'

/** How much of each stream a failure's details keep: the end, where the error usually is. */
const DETAIL_CHARS = 4_000

const DURATION = 'must be a duration: milliseconds, or text like 30s'

const Duration = v.union(
  [
    v.pipe(v.number(), v.integer(), v.minValue(1)),
    v.pipe(
      v.string(),
      v.check((text) => (parseDuration(text) ?? 0) > 0, DURATION),
    ),
  ],
  DURATION,
)

const result = {
  exitCode: v.pipe(v.number(), v.integer()),
  stdout: v.string(),
  stderr: v.string(),
  durationMs: v.pipe(v.number(), v.minValue(0)),
  timedOut: v.boolean(),
}

function tail(text: string): string {
  return text.length <= DETAIL_CHARS ? text : `…${text.slice(-DETAIL_CHARS)}`
}

function lastLine(text: string): string | undefined {
  const line = text.trimEnd().split('\n').at(-1)?.trim()
  return line ? line.slice(0, 200) : undefined
}

export const command = defineAction({
  name: 'command',
  title: 'Run a command',
  description:
    "Runs a program on the service's machine, without a shell (run `sh` with `-c` for pipes), and delivers its exit code and output. A non-zero exit, or a program ended at its `timeout`, fails the step with OS_COMMAND_FAILED unless `failOnExitCode` is false.",
  props: v.strictObject({
    command: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
    args: v.optional(v.array(v.string()), []),
    cwd: v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty'))),
    env: v.optional(
      v.pipe(
        v.record(v.string(), v.string()),
        v.description("added to the service's environment, replacing variables of the same name"),
      ),
    ),
    stdin: v.optional(
      v.pipe(v.string(), v.description("written to the program's standard input, which is then closed")),
    ),
    timeout: v.optional(
      v.pipe(
        Duration,
        v.description(
          "milliseconds, or text like 30s: when the service ends the program; keep it below the step's timeout",
        ),
      ),
    ),
    failOnExitCode: v.optional(v.boolean(), true),
  }),
  output: v.strictObject(result),
  run: async (ctx) => {
    const { props } = ctx
    const timeoutMs = props.timeout === undefined ? undefined : parseDuration(props.timeout)
    if (timeoutMs !== undefined && timeoutMs >= ctx.limits.timeoutMs) {
      ctx.log.warn(
        `the command's timeout (${timeoutMs} ms) is not below the step's (${ctx.limits.timeoutMs} ms): the step may time out first`,
      )
    }
    ctx.log.debug(`running ${props.command} with ${props.args.length} argument(s)`)
    const answer = await callOs(
      ctx,
      '/v1/commands',
      {
        command: props.command,
        args: props.args,
        cwd: props.cwd,
        env: props.env,
        stdin: props.stdin,
        timeoutMs,
      },
      v.object(result),
    )
    if (props.failOnExitCode && (answer.exitCode !== 0 || answer.timedOut)) {
      const how = answer.timedOut
        ? `was ended at its timeout (exit code ${answer.exitCode})`
        : `exited with code ${answer.exitCode}`
      const said = lastLine(answer.stderr)
      throw new TerminalError('OS_COMMAND_FAILED', `${props.command} ${how}${said ? `: ${said}` : ''}`, {
        details: {
          exitCode: answer.exitCode,
          timedOut: answer.timedOut,
          stdout: tail(answer.stdout),
          stderr: tail(answer.stderr),
        },
      })
    }
    return answer
  },
})
