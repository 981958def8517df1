// The OpenAPI 3 document of the API, built from the same valibot schemas that check requests.
import * as v from 'valibot'
import { WorkflowSchema } from '../definition/schema.js'
import { jsonSchemaOf } from '../piece-sdk/catalogue.js'
import { BroadcastBody, ItemsQuery, RunListQuery, SignalBody, StartRunBody, WaitQuery } from './schemas.js'

const ErrorBody = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    details: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
  }),
})

const json = (schema: unknown) => ({ 'application/json': { schema } })
const errors = { default: { description: 'an error', content: json({ $ref: '#/components/schemas/Error' }) } }
const ok = (description: string, schema: unknown = { type: 'object' }) => ({
  description,
  content: json(schema),
})
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } })

/** Query parameters of a valibot object schema, each typed from its entry. */
function queryParams(schema: v.ObjectSchema<v.ObjectEntries, undefined>) {
  return Object.entries(schema.entries).map(([name, entry]) => ({
    name,
    in: 'query',
    required: false,
    schema: jsonSchemaOf(entry as v.GenericSchema),
  }))
}

export function openApiDocument(version: string) {
  return {
    openapi: '3.0.3',
    info: {
      title: 'piecework',
      version,
      description: 'A durable workflow engine: workflows, runs, pieces, webhooks.',
    },
    components: {
      schemas: { Workflow: jsonSchemaOf(WorkflowSchema), Error: jsonSchemaOf(ErrorBody) },
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/health': { get: { summary: 'Liveness', security: [], responses: { 200: ok('serving') } } },
      '/ready': {
        get: { summary: 'Readiness', security: [], responses: { 200: ok('ready'), 503: ok('not ready') } },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', security: [], responses: { 200: { description: 'text' } } },
      },
      '/api/v1/workflows': {
        get: { summary: 'List workflows', responses: { 200: ok('a page of workflows'), ...errors } },
        post: {
          summary: 'Create a workflow (JSON, or YAML with Content-Type application/yaml)',
          requestBody: { required: true, content: json({ $ref: '#/components/schemas/Workflow' }) },
          responses: { 201: ok('the stored workflow, version 1'), ...errors },
        },
      },
      '/api/v1/workflows/{id}': {
        parameters: [idParam('id')],
        get: {
          summary: 'The current version, or ?version=N',
          responses: { 200: ok('the workflow'), ...errors },
        },
        put: {
          summary: 'Store a new version',
          requestBody: { required: true, content: json({ $ref: '#/components/schemas/Workflow' }) },
          responses: { 200: ok('the new version'), ...errors },
        },
        delete: {
          summary: 'Delete it and its triggers',
          responses: { 204: { description: 'deleted' }, ...errors },
        },
      },
      '/api/v1/workflows/{id}/runs': {
        parameters: [idParam('id'), { name: 'wait', in: 'query', schema: { type: 'string' } }],
        post: {
          summary: 'Start a run; with ?wait= answer with the finished run when it ends in time',
          requestBody: { content: json(jsonSchemaOf(StartRunBody)) },
          responses: { 200: ok('the finished run'), 202: ok('{ id, status }'), ...errors },
        },
      },
      '/api/v1/runs': {
        get: {
          summary: 'List runs, newest first',
          parameters: queryParams(RunListQuery),
          responses: { 200: ok('{ items, nextCursor }'), ...errors },
        },
      },
      '/api/v1/runs/{id}': {
        parameters: [idParam('id')],
        get: {
          summary: 'A run; with ?wait= answer once it has ended or the time is up',
          parameters: queryParams(WaitQuery),
          responses: { 200: ok('the run'), ...errors },
        },
      },
      '/api/v1/runs/{id}/signals/{name}': {
        parameters: [idParam('id'), idParam('name')],
        post: {
          summary: 'Send the run a signal (buffered when no step waits for it yet)',
          requestBody: { content: json(jsonSchemaOf(SignalBody)) },
          responses: {
            202: ok('{ taken }: the step that took it, or null when buffered'),
            404: ok('no such run'),
            409: ok('the run has ended'),
            ...errors,
          },
        },
      },
      '/api/v1/runs/{id}/steps/{stepId}/items': {
        parameters: [idParam('id'), idParam('stepId')],
        get: {
          summary: "A forEach step's ended items, in order",
          parameters: queryParams(ItemsQuery),
          responses: { 200: ok('{ items, nextCursor }'), ...errors },
        },
      },
      '/api/v1/signals/{name}': {
        parameters: [idParam('name')],
        post: {
          summary: 'Send a signal to every run waiting for that name and key (not buffered)',
          requestBody: { required: true, content: json(jsonSchemaOf(BroadcastBody)) },
          responses: { 202: ok('{ delivered }: how many runs it reached'), ...errors },
        },
      },
      '/api/v1/runs/{id}/logs': {
        parameters: [idParam('id')],
        get: {
          summary: "The run's log lines, oldest first",
          responses: { 200: ok('{ items, nextCursor }'), ...errors },
        },
      },
      '/api/v1/runs/{id}/events': {
        parameters: [idParam('id')],
        get: {
          summary: 'Server-Sent Events of the run',
          responses: { 200: { description: 'text/event-stream' } },
        },
      },
      '/api/v1/runs/{id}/cancel': {
        parameters: [idParam('id')],
        post: { summary: 'Cancel a run that has not ended', responses: { 200: ok('the run'), ...errors } },
      },
      '/api/v1/runs/{id}/retry': {
        parameters: [idParam('id')],
        post: { summary: 'Go on from the failed steps', responses: { 202: ok('{ id, status }'), ...errors } },
      },
      '/api/v1/pieces': {
        get: { summary: 'Loaded pieces with JSON Schemas', responses: { 200: ok('{ items }') } },
      },
      '/signals/{token}': {
        parameters: [idParam('token')],
        get: {
          summary: 'The signed link of $signalUrl: a page whose button posts; delivers nothing',
          security: [],
          responses: {
            200: { description: 'text/html' },
            403: ok('the token is not valid'),
            409: ok('the run has ended'),
            ...errors,
          },
        },
        post: {
          summary: 'Deliver the signal: the JSON body (or the form fields) is its data',
          security: [],
          requestBody: {
            content: { ...json({}), 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
          },
          responses: {
            202: ok('{ taken } (a form post: a text/html page)'),
            403: ok('the token is not valid: nothing delivered'),
            409: ok('the run has ended'),
            ...errors,
          },
        },
      },
      '/hooks/{path}': {
        parameters: [idParam('path')],
        post: {
          summary: 'Webhook triggers (any method the trigger names)',
          security: [],
          responses: {
            200: ok('the run output (respond: onComplete)'),
            202: ok('{ id }'),
            422: ok('the run failed or was cancelled (respond: onComplete): { error, runId }'),
            ...errors,
          },
        },
      },
    },
  }
}
