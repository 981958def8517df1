// The engine's configuration (`config/piecework.yaml`) as valibot schemas: every key has a default,
// and an unknown key is an error.
import { availableParallelism } from 'node:os'
import * as v from 'valibot'
import { DEFINITION_LIMITS } from '../definition/limits.js'
import { DurationSchema } from '../definition/schema.js'
import { RetentionSchema } from './retention.js'
import { SecretsSchema } from './secrets.js'

const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535))
const Positive = v.pipe(v.number(), v.integer(), v.minValue(1))

const ServiceSchema = v.optional(
  v.strictObject({
    baseUrl: v.optional(v.pipe(v.string(), v.url('must be an absolute URL'))),
    apiKey: v.optional(v.string()),
  }),
  {},
)

const CredentialsSchema = v.strictObject({
  baseUrl: v.optional(v.pipe(v.string(), v.url('must be an absolute URL'))),
  apiKey: v.optional(v.string()),
  token: v.optional(v.string()),
  username: v.optional(v.string()),
  password: v.optional(v.string()),
})

const OnError = v.picklist(['fail', 'skip'])

/** A folder path or npm package name, or the same with what to do when the piece is broken. */
const PieceSourceSchema = v.pipe(
  v.union(
    [
      v.pipe(v.string(), v.minLength(1)),
      v.strictObject({ from: v.pipe(v.string(), v.minLength(1)), onError: v.optional(OnError, 'fail') }),
    ],
    'must be a folder path or npm package name, or { from: <path or package>, onError: fail | skip }',
  ),
  v.transform((entry) => (typeof entry === 'string' ? { from: entry, onError: 'fail' as const } : entry)),
)

/** An absolute http(s) URL, such as `https://flows.example.com` or one with a path prefix. */
const PublicUrl = v.pipe(
  v.string(),
  v.check(
    (url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol),
    'must be an absolute http:// or https:// URL',
  ),
)

/** Where to listen, and how others reach this engine: `publicUrl` defaults to `http://<host>:<port>`. */
const ServerSchema = v.pipe(
  v.strictObject({
    host: v.optional(v.string(), '127.0.0.1'),
    port: v.optional(Port, 3000),
    bodyLimit: v.optional(Positive, 16 * 1024 * 1024),
    publicUrl: v.optional(PublicUrl),
    /** Signs the links of `$signalUrl`; without it, runs cannot make such links. */
    signingKey: v.optional(v.pipe(v.string(), v.minLength(32, 'must be at least 32 characters'))),
    /** A comment line this often keeps a quiet run event stream open through proxies. */
    eventsKeepAlive: v.optional(DurationSchema, '15s'),
  }),
  v.transform((server) => ({
    ...server,
    publicUrl:
      server.publicUrl ??
      `http://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`,
  })),
)

export const ConfigSchema = v.strictObject({
  server: v.optional(ServerSchema, {}),
  database: v.optional(v.strictObject({ url: v.optional(v.string(), 'sqlite:./data/piecework.db') }), {}),
  workers: v.optional(
    v.strictObject({
      threads: v.optional(Positive, Math.max(2, availableParallelism())),
      stepTimeout: v.optional(DurationSchema, '5m'),
      memoryLimitMb: v.optional(v.pipe(Positive, v.minValue(16)), 256),
      maxOutputBytes: v.optional(Positive, 4 * 1024 * 1024),
    }),
    {},
  ),
  runs: v.optional(
    v.strictObject({
      /** How long a process holds its runs without renewing; another takes them over after it. */
      leaseTtl: v.optional(DurationSchema, '15s'),
      /** A run whose next timer is further away than this leaves memory. */
      passivateAfter: v.optional(DurationSchema, '2s'),
      /** How often due timers and orphaned runs are looked for. */
      pollInterval: v.optional(DurationSchema, '500ms'),
      /** On SIGTERM, how long steps already in workers may take to finish. */
      shutdownGrace: v.optional(DurationSchema, '10s'),
      /** A step attempt under way this many times when its process died fails with CRASHED. */
      maxInterruptions: v.optional(Positive, 2),
      /** How long ended runs are kept; by default, forever (see src/config/retention.ts). */
      retention: RetentionSchema,
      /** Items one `forEach` step may have; more fail it with TOO_MANY_ITEMS. */
      maxItems: v.optional(Positive, 10_000),
      /** How deep `workflow.run` may nest; deeper fails the step with DEPTH_EXCEEDED. */
      maxDepth: v.optional(Positive, 10),
    }),
    {},
  ),
  /** Bounds of each `{{ }}` evaluation: expressions run on the engine's own thread. */
  expressions: v.optional(
    v.strictObject({
      timeout: v.optional(DurationSchema, '100ms'),
      maxDepth: v.optional(Positive, 500),
      /** A range is allocated at once, between two checks of the time budget: only this bounds it. */
      maxSequence: v.optional(Positive, 100_000),
      maxResultBytes: v.optional(Positive, 4 * 1024 * 1024),
    }),
    {},
  ),
  /** The processes that run user code (`code.run`) and pieces from packages: see docs/sandbox.md. */
  sandbox: v.optional(
    v.strictObject({
      /** By default one more than `workers.threads`. */
      processes: v.optional(Positive),
      threadsPerProcess: v.optional(Positive, 1),
      /** Resident memory of one sandbox process (heap, ArrayBuffers, everything); over it, it ends. */
      processMemoryMb: v.optional(v.pipe(Positive, v.minValue(128)), 1024),
      /** Threads one workflow may hold at once; by default all but one, so others always keep one. */
      maxThreadsPerWorkflow: v.optional(Positive),
    }),
    {},
  ),
  /** How large a workflow may be: one over a limit is refused when deployed or validated. */
  limits: v.optional(
    v.strictObject({
      maxSteps: v.optional(Positive, DEFINITION_LIMITS.maxSteps),
      maxFanIn: v.optional(Positive, DEFINITION_LIMITS.maxFanIn),
      maxDefinitionBytes: v.optional(Positive, DEFINITION_LIMITS.maxDefinitionBytes),
    }),
    {},
  ),
  workflows: v.optional(v.strictObject({ dir: v.optional(v.string(), 'config/workflows') }), {}),
  /** How far a Standard Webhooks timestamp may be from now; ids are remembered that long. */
  webhooks: v.optional(v.strictObject({ tolerance: v.optional(DurationSchema, '5m') }), {}),
  auth: v.optional(
    v.strictObject({ apiKeys: v.optional(v.array(v.pipe(v.string(), v.minLength(16))), []) }),
    {},
  ),
  /** The run monitor, a web UI served at `/` (docs/ui.md). */
  ui: v.optional(v.strictObject({ enabled: v.optional(v.boolean(), true) }), {}),
  services: v.optional(v.strictObject({ aiOrchestrator: ServiceSchema, osIntegration: ServiceSchema }), {}),
  /** Pieces besides the built-ins: folders (`./…`, `/…`) and npm package names. */
  pieces: v.optional(v.array(PieceSourceSchema), []),
  /** Per piece name, the values of the auth it declares. */
  credentials: v.optional(
    v.record(v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a piece name')), CredentialsSchema),
    {},
  ),
  /** Named secrets for `$secret(name)`, and the key that seals those stored through the API. */
  secrets: SecretsSchema,
  log: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), 'info'),
      pretty: v.optional(v.boolean(), false),
    }),
    {},
  ),
})

export type Config = v.InferOutput<typeof ConfigSchema>
