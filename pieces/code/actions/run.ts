import * as v from 'valibot'
import { defineAction, PieceError } from '../../../src/piece-sdk/index.js'
import { runUserCode, UserCodeError } from '../../../src/workers/compartment.js'

export const run = defineAction({
  name: 'run',
  title: 'Run JavaScript',
  description:
    'Runs `code` as the body of an async function in a fresh SES Compartment; delivers what it returns. ' +
    'It sees input, inputs, trigger, steps, run, attempt (and item, index under forEach), console, Date and Math, and nothing else.',
  props: v.strictObject({ code: v.pipe(v.string(), v.minLength(1, 'must hold some code')) }),
  runData: true,
  run: async (ctx) => {
    try {
      return await runUserCode(
        ctx.props.code,
        {
          input: ctx.input,
          inputs: ctx.inputs,
          trigger: ctx.trigger,
          steps: ctx.steps,
          run: ctx.run,
          attempt: ctx.attempt,
          ...(ctx.item && { item: ctx.item.value, index: ctx.item.index }),
        },
        ctx.log,
      )
    } catch (error) {
      if (error instanceof UserCodeError && error.outOfMemory)
        throw new PieceError('MEMORY', `the code ran out of memory: ${error.message}`, { retryable: false })
      if (error instanceof UserCodeError)
        throw new PieceError('CODE', error.message, { retryable: error.compiles })
      throw error
    }
  },
})
