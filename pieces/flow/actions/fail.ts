import * as v from 'valibot'
import { defineAction, TerminalError } from '../../../src/piece-sdk/index.js'

export const fail = defineAction({
  name: 'fail',
  title: 'Fail',
  description: 'Fails the step with the given `code` (default FAIL) and `message`.',
  inline: true,
  props: v.strictObject({
    message: v.optional(v.string(), 'the workflow failed on purpose'),
    code: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9_]*$/)), 'FAIL'),
  }),
  run: ({ props }) => {
    throw new TerminalError(props.code, props.message)
  },
})
