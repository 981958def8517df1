// `piecework serve`: load the configuration, open the engine, deploy config/workflows, resume
// unfinished runs, and serve the HTTP API until SIGINT/SIGTERM.
import { existsSync } from 'node:fs'
import pino from 'pino'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { duplicateIds } from '../definition/duplicate-ids.js'
import { parseDuration } from '../definition/duration.js'
import { loadDefinitionFile } from '../definition/load.js'
import { type Problem, ValidationError } from '../errors.js'
import { createApp } from '../http/app.js'
import { isLoopback } from '../http/auth.js'
import { listen } from '../http/listen.js'
import { SignalLinks } from '../http/signal-links.js'
import { credentialsFromConfig } from '../piece-sdk/credentials.js'
import { Engine } from '../runtime/engine.js'
import { prunerOptions, RunPruner } from '../runtime/run-pruner.js'
import { lockSqliteFile } from '../store/sqlite-lock.js'
import { Scheduler } from '../triggers/schedules.js'
import { WebhookRoutes } from '../triggers/webhooks.js'
import { definitionFiles, idOf } from './validate.js'

export function engineOptions(config: Config) {
  return {
    databaseUrl: config.database.url,
    threads: config.workers.threads,
    stepTimeoutMs: parseDuration(config.workers.stepTimeout),
    memoryLimitMb: config.workers.memoryLimitMb,
    maxOutputBytes: config.workers.maxOutputBytes,
    leaseMs: parseDuration(config.runs.leaseTtl),
    passivateAfterMs: parseDuration(config.runs.passivateAfter),
    pollMs: parseDuration(config.runs.pollInterval),
    maxInterruptions: config.runs.maxInterruptions,
    maxItems: config.runs.maxItems,
    maxDepth: config.runs.maxDepth,
    expressions: {
      timeoutMs: parseDuration(config.expressions.timeout),
      maxDepth: config.expressions.maxDepth,
      maxSequence: config.expressions.maxSequence,
      maxResultBytes: config.expressions.maxResultBytes,
    },
    limits: config.limits,
    sandbox: {
      processes: config.sandbox.processes,
      threadsPerProcess: config.sandbox.threadsPerProcess,
      processMemoryMb: config.sandbox.processMemoryMb,
      maxThreadsPerWorkflow: config.sandbox.maxThreadsPerWorkflow,
    },
    pieces: config.pieces,
    credentials: credentialsFromConfig(config),
    signalUrl: signalUrlOf(signalLinks(config)),
    secrets: config.secrets,
  }
}

function signalUrlOf(links: SignalLinks | undefined) {
  return links && ((runId: string, name: string) => links.url(runId, name))
}

/** The signer of `$signalUrl` links, when `server.signingKey` is set. */
export function signalLinks(config: Config): SignalLinks | undefined {
  const { publicUrl, signingKey } = config.server
  return signingKey === undefined ? undefined : new SignalLinks(publicUrl, signingKey)
}

/** Deploys every definition in the folder: all are checked before any is stored. */
export async function deployFolder(engine: Engine, dir: string) {
  if (!existsSync(dir)) return []
  const loaded: { file: string; definition: unknown }[] = []
  const problems: Problem[] = []
  for (const file of definitionFiles([dir])) {
    try {
      const definition = await loadDefinitionFile(file)
      engine.compile(definition)
      loaded.push({ file, definition })
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error
      problems.push(
        { path: file, message: error.message },
        ...error.problems.map((p) => ({ ...p, path: `${file}: ${p.path}` })),
      )
    }
  }
  const duplicates = duplicateIds(loaded.map(({ file, definition }) => ({ file, id: idOf(definition) })))
  for (const [file, message] of duplicates) problems.push({ path: file, message })
  if (problems.length > 0) throw new ValidationError(`workflows in ${dir} are invalid`, problems)
  const deployed = []
  for (const { file, definition } of loaded) {
    const result = await engine.deploy(definition)
    engine.workflowChanged(result.workflow.id)
    deployed.push({ file, id: result.workflow.id, version: result.version, created: result.created })
  }
  return deployed
}

const REDACT_PATHS = [
  '*.apiKey',
  '*.token',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.*.apiKey',
  '*.*.token',
  '*.*.password',
]

const PINO_LEVEL = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' } as const

/** Every line about run work carries the run's id, and the step's where there is one. */
function logRunWork(engine: Engine, log: pino.Logger): void {
  engine.events.on('run', (runId, state) => {
    if (state.status === 'failed') log.warn({ runId, error: state.error }, 'run failed')
    else log.info({ runId, status: state.status }, `run ${state.status}`)
  })
  engine.events.on('step', (runId, step) => {
    const fields = { runId, stepId: step.id, status: step.status, attempt: step.attempts }
    if (step.status === 'failed') log.warn({ ...fields, error: step.error }, 'step failed')
    else log.debug(fields, `step ${step.status}`)
  })
  engine.events.on('log', (runId, stepId, level, msg, data) => {
    log[PINO_LEVEL[level]]({ runId, stepId, data }, msg)
  })
  engine.events.on('dropped', (runId, reason, error) => {
    log.warn({ runId, err: error }, `run left this process without ending: ${reason}`)
  })
  engine.events.on('sandbox', (event) => {
    if (event.type === 'ready') log.debug(event, 'sandbox process ready')
    else if (event.retired) log.debug({ pid: event.pid }, 'sandbox process replaced after a step it stopped')
    else
      log.warn(
        { pid: event.pid, code: event.end.code, signal: event.end.signal, lostSteps: event.lost },
        `sandbox process ended; its ${event.lost} step attempt(s) failed; starting another`,
      )
  })
}

/** Exit code of a process that met an error nobody handled: its supervisor should restart it. */
const UNEXPECTED_EXIT = 70

/**
 * The policy for the truly unexpected (an error no code path handles): log it, and exit so that
 * the process supervisor starts a clean process, which resumes every run from its checkpoints.
 * Expected faults (the database away, a sandbox process dying, a lost lease) are handled where
 * they happen and never come here.
 */
function onTheUnexpected(log: pino.Logger): void {
  const fatal = (kind: string) => (error: unknown) => {
    log.fatal({ err: error }, `${kind}: exiting for a clean restart; runs resume from their checkpoints`)
    log.flush?.()
    setTimeout(() => process.exit(UNEXPECTED_EXIT), 100).unref()
  }
  process.on('unhandledRejection', fatal('an unhandled rejection'))
  process.on('uncaughtException', fatal('an uncaught exception'))
}

export async function serveCommand(options: { configFile?: string }): Promise<number> {
  const { config, file } = loadConfig(options.configFile)
  const log = pino({
    level: config.log.level,
    base: { service: 'piecework' },
    // secrets are scrubbed where steps hand things back; these paths are a second guard
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(config.log.pretty ? { transport: { target: 'pino-pretty', options: { destination: 1 } } } : {}),
  })
  if (config.auth.apiKeys.length === 0 && !isLoopback(config.server.host)) {
    throw new ValidationError(
      `refusing to listen on ${config.server.host} without API keys: set auth.apiKeys (or PIECEWORK_AUTH_API_KEYS), or listen on 127.0.0.1`,
      [{ path: 'server.host', message: 'a non-loopback address needs auth.apiKeys' }],
    )
  }
  // refused before anything is written: a second process on this SQLite file, or on this port
  const unlock = lockSqliteFile(config.database.url)
  const listening = await listen(config.server.host, config.server.port).catch((error: unknown) => {
    unlock()
    throw error
  })
  const engine = await Engine.open(engineOptions(config)).catch(async (error: unknown) => {
    await listening.close()
    unlock()
    throw error
  })
  onTheUnexpected(log)
  // threads and sandbox processes start at the first step that needs them (a run resumed below, a
  // request): a server that runs no code holds none, and its start never waits for them
  for (const skipped of engine.skippedPieces) log.warn(skipped, 'piece skipped: it is broken')
  if (engine.secretsResealed > 0)
    log.info({ secrets: engine.secretsResealed }, 'stored secrets sealed again under secrets.key')
  for (const piece of engine.registry.list()) {
    const origin = engine.registry.origin(piece.name)
    if (origin !== 'builtin') log.info({ piece: piece.name, version: piece.version, origin }, 'piece loaded')
  }
  const deployed = await deployFolder(engine, config.workflows.dir)
  for (const d of deployed) {
    log.info(
      { workflowId: d.id, version: d.version, file: d.file },
      d.created ? 'workflow deployed' : 'workflow unchanged',
    )
  }
  const webhooks = new WebhookRoutes(engine, parseDuration(config.webhooks.tolerance))
  await webhooks.reload()
  webhooks.start()
  const scheduler = new Scheduler(engine)
  const resumed = await engine.start()
  await scheduler.start()
  if (resumed > 0) log.info({ runs: resumed }, 'resumed unfinished runs')
  logRunWork(engine, log)
  // runs.retention: ended runs pruned in small batches, never blocking the engine for long
  const pruning = prunerOptions(config.runs.retention)
  const pruner = pruning && new RunPruner(engine.db, pruning).logTo(log)
  const app = createApp(engine, {
    apiKeys: config.auth.apiKeys,
    bodyLimit: config.server.bodyLimit,
    webhooks,
    pruner,
    signalLinks: signalLinks(config),
    ui: { enabled: config.ui.enabled },
    events: { keepAliveMs: parseDuration(config.server.eventsKeepAlive) },
    fileWorkflows: new Map(deployed.map((d) => [d.id, d.file])),
    report: (error) => log.error({ err: error }, 'unexpected error'),
  })
  listening.ready(app.fetch)
  log.info(
    {
      host: config.server.host,
      port: config.server.port,
      config: file ?? 'defaults',
      database: engine.db.kind,
    },
    'piecework is serving',
  )
  pruner?.start()
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  log.info('shutting down: no new work; unfinished runs resume on the next start')
  await listening.close()
  webhooks.stop()
  await scheduler.stop()
  await pruner?.stop()
  await engine.close(parseDuration(config.runs.shutdownGrace))
  unlock()
  log.info('stopped')
  return 0
}
