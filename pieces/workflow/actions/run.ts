import * as v from 'valibot'
import { defineAction, startWorkflow } from '../../../src/piece-sdk/index.js'

export const run = defineAction({
  name: 'run',
  title: 'Run a workflow',
  description:
    'Starts a run of the deployed workflow `workflow` (its current version, or `version`) as a child of this run, ' +
    "with `input` (default: the step's input). With `wait` (the default) the step ends when the child ends, with its " +
    'output, or fails with CHILD_FAILED; with `wait: false` it delivers `{ runId }` at once.',
  inline: true,
  props: v.strictObject({
    workflow: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a workflow id')),
    version: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    input: v.optional(v.unknown()),
    wait: v.optional(v.boolean(), true),
  }),
  run: ({ props, input }) =>
    startWorkflow({
      workflow: props.workflow,
      version: props.version,
      input: props.input === undefined ? input : props.input,
      wait: props.wait,
    }),
})
