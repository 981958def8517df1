// The OpenAPI 3.1 document of the API, built from the same valibot schemas that check requests
// (schemas.ts) and describe answers (responses.ts). To document a new route, add an entry to
// `paths` below: an operationId, its parameters and its answers, with schemas named in `SCHEMAS`.
import { toJsonSchema } from '@valibot/to-json-schema'
import type * as v from 'valibot'
import { WorkflowSchema } from '../definition/schema.js'
import * as R from './responses.js'
import {
  BroadcastBody,
  ItemsQuery,
  LogQuery,
  RunListQuery,
  RunStatsQuery,
  SignalBody,
  StartRunBody,
  VersionQuery,
  WaitQuery,
} from './schemas.js'
import { SecretBody, SecretPage, SecretView } from './secret-schemas.js'

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) of a valibot schema, without `$schema`. */
export function schemaOf(schema: v.GenericSchema): Record<string, unknown> {
  const { $schema: _, ...rest } = toJsonSchema(schema, { errorMode: 'ignore', target: 'draft-2020-12' })
  return rest as Record<string, unknown>
}

/** The schemas under `components.schemas`, named as clients will see them. */
const SCHEMAS = {
  Error: R.ErrorBody,
  WorkflowDefinition: WorkflowSchema,
  Workflow: R.WorkflowView,
  WorkflowPage: R.WorkflowPage,
  Run: R.Run,
  RunPage: R.RunPage,
  RunStarted: R.RunStarted,
  LogPage: R.LogPage,
  ItemPage: R.ItemPage,
  SignalTaken: R.SignalTaken,
  RunStatsPage: R.RunStatsPage,
  Delivered: R.Delivered,
  PiecePage: R.PiecePage,
  Health: R.Health,
  Ready: R.Ready,
  Secret: SecretView,
  SecretPage,
} satisfies Record<string, v.GenericSchema>

type SchemaName = keyof typeof SCHEMAS
const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: unknown) => ({ 'application/json': { schema } })
/** An answer whose JSON body is the named schema. */
const answer = (description: string, name: SchemaName) => ({ description, content: json(ref(name)) })
const text = (description: string, type: string) => ({
  description,
  content: { [type]: { schema: { type: 'string' } } },
})

/** The error answers an operation may give, besides `default`. */
function errors(...statuses: number[]) {
  const out: Record<string, unknown> = {}
  for (const status of statuses) out[status] = { $ref: `#/components/responses/Error${status}` }
  return { ...out, default: { $ref: '#/components/responses/Error' } }
}
const ERROR_STATUSES: Record<number, string> = {
  400: 'bad input: every problem in `details`',
  401: 'no API key, or a wrong one',
  403: 'a signal link that is not valid',
  404: 'no such workflow, run, step or route',
  405: 'a method the webhook does not take',
  409: 'the state forbids it (a run that has ended, a workflow that exists)',
  413: 'the body is too large',
  415: 'a body that is neither JSON nor (where taken) YAML',
  422: 'well-formed but unusable',
}

const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
})

/** The query parameters of a valibot object schema, each typed from its entry. */
function queryParams(
  schema: v.ObjectSchema<v.ObjectEntries, undefined>,
  descriptions: Record<string, string>,
) {
  return Object.entries(schema.entries).map(([name, entry]) => ({
    name,
    in: 'query',
    required: false,
    ...(descriptions[name] ? { description: descriptions[name] } : {}),
    schema: wholeNumber(schemaOf(entry as v.GenericSchema)),
  }))
}

/** A query value checked as digits is a whole number to a client (`?limit=10`). */
function wholeNumber(schema: Record<string, unknown>): Record<string, unknown> {
  if (schema.type !== 'string' || schema.pattern !== '^\\d+$') return schema
  const { pattern: _, default: byDefault, ...rest } = schema
  return {
    ...rest,
    type: 'integer',
    minimum: 0,
    ...(byDefault === undefined ? {} : { default: Number(byDefault) }),
  }
}

/** A workflow definition, as JSON or as YAML text. */
const DEFINITION_BODY = {
  required: true,
  content: { ...json(ref('WorkflowDefinition')), 'application/yaml': { schema: { type: 'string' } } },
}
const RUN_ID = pathParam('id', 'the run id')
const WORKFLOW_ID = pathParam('id', 'the workflow id')
const PAGE = { limit: 'how many items a page holds', cursor: 'the `nextCursor` of the page before' }
const WAIT = { wait: 'how long to wait for the run to end: milliseconds, or a duration (5s, 2m); at most 5m' }

/** The signature headers of a webhook whose trigger has a `secret` (docs/api.md#signatures). */
const HOOK_HEADERS = [
  ['webhook-id', 'Standard Webhooks: the message id; a second request with it is refused (409)'],
  ['webhook-timestamp', 'Standard Webhooks: seconds since 1970, within webhooks.tolerance of now'],
  ['webhook-signature', 'Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">'],
  ['x-piecework-signature', 'sha256=<lowercase hex HMAC-SHA256 of the raw body>'],
].map(([name, description]) => ({
  name,
  in: 'header',
  required: false,
  description,
  schema: { type: 'string' },
}))

/** Webhooks take whatever method their trigger names: one operation per method. */
function hookOperations() {
  const methods = ['get', 'post', 'put', 'patch', 'delete'] as const
  return Object.fromEntries(
    methods.map((method) => [
      method,
      {
        operationId: `hook${method[0]!.toUpperCase()}${method.slice(1)}`,
        tags: ['webhooks'],
        summary: `Webhook trigger (${method.toUpperCase()}; a trigger names the method it takes, or ANY)`,
        security: [],
        parameters: HOOK_HEADERS,
        ...(method === 'get' || method === 'delete'
          ? {}
          : { requestBody: { content: { '*/*': { schema: {} } } } }),
        responses: {
          200: { description: 'the run output (respond: onComplete)', content: json({}) },
          202: answer('the run was started (respond: immediately), or is still going', 'RunStarted'),
          422: {
            description: 'the run failed or was cancelled (respond: onComplete)',
            content: json({
              type: 'object',
              properties: { error: {}, runId: { type: 'string' } },
              required: ['error', 'runId'],
            }),
          },
          ...errors(400, 401, 404, 405, 409, 413),
        },
      },
    ]),
  )
}

export function openApiDocument(version: string) {
  const responses: Record<string, unknown> = {
    Error: { description: 'an error', content: json(ref('Error')) },
  }
  for (const [status, description] of Object.entries(ERROR_STATUSES))
    responses[`Error${status}`] = { description, content: json(ref('Error')) }
  return {
    openapi: '3.1.0',
    info: {
      title: 'piecework',
      version,
      description: 'A durable workflow engine: workflows, runs, signals, pieces, webhooks.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'system' },
      { name: 'workflows' },
      { name: 'runs' },
      { name: 'signals' },
      { name: 'pieces' },
      { name: 'secrets' },
      { name: 'webhooks' },
    ],
    components: {
      schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([name, s]) => [name, schemaOf(s)])),
      responses,
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'one of `auth.apiKeys`; needed on /api/* when keys are configured',
        },
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/health': {
        get: {
          operationId: 'health',
          tags: ['system'],
          summary: 'Liveness',
          security: [],
          responses: { 200: answer('serving', 'Health') },
        },
      },
      '/ready': {
        get: {
          operationId: 'ready',
          tags: ['system'],
          summary: 'Readiness: the database answers and the worker pool is up',
          security: [],
          responses: { 200: answer('ready', 'Ready'), 503: { $ref: '#/components/responses/Error' } },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          tags: ['system'],
          summary: 'Prometheus metrics',
          security: [],
          responses: { 200: text('Prometheus text format', 'text/plain') },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApi',
          tags: ['system'],
          summary: 'This document',
          security: [],
          responses: { 200: { description: 'the OpenAPI 3.1 document', content: json({ type: 'object' }) } },
        },
      },
      '/api/v1/workflows': {
        get: {
          operationId: 'listWorkflows',
          tags: ['workflows'],
          summary: 'List workflows (their current versions)',
          responses: { 200: answer('every workflow', 'WorkflowPage'), ...errors(401) },
        },
        post: {
          operationId: 'createWorkflow',
          tags: ['workflows'],
          summary: 'Create a workflow (JSON, or YAML with Content-Type application/yaml)',
          requestBody: DEFINITION_BODY,
          responses: {
            201: answer('the stored workflow, version 1', 'Workflow'),
            ...errors(400, 401, 409, 413, 415),
          },
        },
      },
      '/api/v1/workflows/{id}': {
        parameters: [WORKFLOW_ID],
        get: {
          operationId: 'getWorkflow',
          tags: ['workflows'],
          summary: 'The current version, or ?version=N',
          parameters: queryParams(VersionQuery, { version: 'an older version' }),
          responses: { 200: answer('the workflow', 'Workflow'), ...errors(400, 401, 404) },
        },
        put: {
          operationId: 'updateWorkflow',
          tags: ['workflows'],
          summary: 'Store a new version (runs under way keep theirs)',
          requestBody: DEFINITION_BODY,
          responses: { 200: answer('the new version', 'Workflow'), ...errors(400, 401, 404, 409, 415, 422) },
        },
        delete: {
          operationId: 'deleteWorkflow',
          tags: ['workflows'],
          summary: 'Delete it and its triggers (its runs stay readable)',
          responses: { 204: { description: 'deleted' }, ...errors(401, 404, 409) },
        },
      },
      '/api/v1/workflows/{id}/pause': {
        parameters: [WORKFLOW_ID],
        post: {
          operationId: 'pauseWorkflow',
          tags: ['workflows'],
          summary:
            'Pause it: its triggers start nothing and starts through the API answer 409 (runs under way go on)',
          responses: { 200: answer('the workflow, paused', 'Workflow'), ...errors(401, 404) },
        },
      },
      '/api/v1/workflows/{id}/resume': {
        parameters: [WORKFLOW_ID],
        post: {
          operationId: 'resumeWorkflow',
          tags: ['workflows'],
          summary: 'Resume it: its triggers start runs again (due times missed while paused do not fire)',
          responses: { 200: answer('the workflow, running', 'Workflow'), ...errors(401, 404) },
        },
      },
      '/api/v1/workflows/{id}/runs': {
        parameters: [WORKFLOW_ID],
        post: {
          operationId: 'startRun',
          tags: ['runs'],
          summary: 'Start a run; with ?wait= answer with the finished run when it ends in time',
          parameters: queryParams(WaitQuery, WAIT),
          requestBody: { content: json(schemaOf(StartRunBody)) },
          responses: {
            200: answer('the run, ended within ?wait=', 'Run'),
            202: answer('the run was started (and has not ended)', 'RunStarted'),
            ...errors(400, 401, 404, 409, 413, 415),
          },
        },
      },
      '/api/v1/runs': {
        get: {
          operationId: 'listRuns',
          tags: ['runs'],
          summary: 'List runs, newest first',
          parameters: queryParams(RunListQuery, {
            ...PAGE,
            workflowId: 'only runs of it',
            status: 'only runs in it',
            since: 'only runs created at or after this time: ISO 8601, or a duration back from now (24h)',
            until: 'only runs created before this time: ISO 8601, or a duration back from now',
          }),
          responses: { 200: answer('a page of runs', 'RunPage'), ...errors(400, 401) },
        },
      },
      '/api/v1/runs/{id}': {
        parameters: [RUN_ID],
        get: {
          operationId: 'getRun',
          tags: ['runs'],
          summary: 'A run; with ?wait= answer once it has ended or the time is up',
          parameters: queryParams(WaitQuery, WAIT),
          responses: { 200: answer('the run', 'Run'), ...errors(400, 401, 404) },
        },
      },
      '/api/v1/runs/{id}/logs': {
        parameters: [RUN_ID],
        get: {
          operationId: 'getRunLogs',
          tags: ['runs'],
          summary: "The run's log lines, oldest first",
          parameters: queryParams(LogQuery, { ...PAGE, stepId: 'only the lines of this step' }),
          responses: { 200: answer('a page of log lines', 'LogPage'), ...errors(400, 401, 404) },
        },
      },
      '/api/v1/runs/{id}/events': {
        parameters: [RUN_ID],
        get: {
          operationId: 'getRunEvents',
          tags: ['runs'],
          summary: 'Server-Sent Events of the run: a snapshot, then every change and log line, until it ends',
          parameters: [
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              description:
                'the id of the last event received: resume after it (a fresh snapshot, then the log lines after it)',
              schema: { type: 'string', pattern: '^[0-9]{1,15}$' },
            },
          ],
          responses: { 200: text('an event stream', 'text/event-stream'), ...errors(400, 401, 404) },
        },
      },
      '/api/v1/runs/{id}/cancel': {
        parameters: [RUN_ID],
        post: {
          operationId: 'cancelRun',
          tags: ['runs'],
          summary: 'Cancel a run that has not ended',
          responses: { 200: answer('the run', 'Run'), ...errors(401, 404, 409) },
        },
      },
      '/api/v1/runs/{id}/retry': {
        parameters: [RUN_ID],
        post: {
          operationId: 'retryRun',
          tags: ['runs'],
          summary: 'Go on from the failed steps of a failed run',
          responses: { 202: answer('the run goes on', 'RunStarted'), ...errors(401, 404, 409) },
        },
      },
      '/api/v1/runs/{id}/signals/{name}': {
        parameters: [RUN_ID, pathParam('name', 'the signal name')],
        post: {
          operationId: 'signalRun',
          tags: ['signals'],
          summary: 'Send the run a signal (buffered when no step waits for it yet)',
          requestBody: { content: json(schemaOf(SignalBody)) },
          responses: {
            202: answer('the step that took it, or null when buffered', 'SignalTaken'),
            ...errors(400, 401, 404, 409),
          },
        },
      },
      '/api/v1/runs/{id}/steps/{stepId}/items': {
        parameters: [RUN_ID, pathParam('stepId', 'a forEach step')],
        get: {
          operationId: 'listStepItems',
          tags: ['runs'],
          summary: "A forEach step's ended items, in order",
          parameters: queryParams(ItemsQuery, PAGE),
          responses: { 200: answer('a page of items', 'ItemPage'), ...errors(400, 401, 404) },
        },
      },
      '/api/v1/signals/{name}': {
        parameters: [pathParam('name', 'the signal name')],
        post: {
          operationId: 'broadcastSignal',
          tags: ['signals'],
          summary: 'Send a signal to every run waiting for that name and key (not buffered)',
          requestBody: { required: true, content: json(schemaOf(BroadcastBody)) },
          responses: { 202: answer('how many runs it reached', 'Delivered'), ...errors(400, 401) },
        },
      },
      '/api/v1/stats/runs': {
        get: {
          operationId: 'runStats',
          tags: ['runs'],
          summary: 'Per workflow: its runs since a time (default 24h) by status, and its newest run',
          parameters: queryParams(RunStatsQuery, {
            since: 'runs created at or after this time: ISO 8601, or a duration back from now (default 24h)',
          }),
          responses: { 200: answer('one entry per workflow', 'RunStatsPage'), ...errors(400, 401) },
        },
      },
      '/api/v1/pieces': {
        get: {
          operationId: 'listPieces',
          tags: ['pieces'],
          summary: 'Loaded pieces, with the JSON Schemas of their props',
          responses: { 200: answer('every piece', 'PiecePage'), ...errors(401) },
        },
      },
      '/api/v1/secrets': {
        get: {
          operationId: 'listSecrets',
          tags: ['secrets'],
          summary: 'Every named secret: name, source and dates, never a value',
          responses: { 200: answer('every secret', 'SecretPage'), ...errors(401) },
        },
      },
      '/api/v1/secrets/{name}': {
        parameters: [pathParam('name', 'the secret name: 1-128 letters, digits, _ . -')],
        put: {
          operationId: 'putSecret',
          tags: ['secrets'],
          summary: 'Store a secret, sealed with AES-256-GCM (write-only: no answer holds the value)',
          requestBody: { required: true, content: json(schemaOf(SecretBody)) },
          responses: {
            200: answer('an existing secret was replaced', 'Secret'),
            201: answer('a new secret was stored', 'Secret'),
            ...errors(400, 401, 409, 413, 415),
          },
        },
        delete: {
          operationId: 'deleteSecret',
          tags: ['secrets'],
          summary: 'Delete a stored secret (those of the configuration are read-only)',
          responses: { 204: { description: 'deleted' }, ...errors(400, 401, 404, 409) },
        },
      },
      '/signals/{token}': {
        parameters: [pathParam('token', 'the signed token of a $signalUrl link')],
        get: {
          operationId: 'signalLinkPage',
          tags: ['signals'],
          summary: 'The signed link of $signalUrl: a page whose button posts; delivers nothing',
          security: [],
          responses: { 200: text('a confirmation page', 'text/html'), ...errors(403, 404, 409) },
        },
        post: {
          operationId: 'signalLinkDeliver',
          tags: ['signals'],
          summary: 'Deliver the signal: the JSON body (or the form fields) is its data',
          security: [],
          requestBody: {
            content: {
              ...json({}),
              'application/x-www-form-urlencoded': {
                schema: { type: 'object', additionalProperties: { type: 'string' } },
              },
            },
          },
          responses: {
            202: {
              description: 'delivered: the step that took it (a form post gets a page)',
              content: { ...json(ref('SignalTaken')), 'text/html': { schema: { type: 'string' } } },
            },
            ...errors(400, 403, 404, 409),
          },
        },
      },
      '/hooks/{path}': {
        parameters: [pathParam('path', "the trigger's path")],
        ...hookOperations(),
      },
    },
  }
}
