import * as v from 'valibot'
import { defineAction, fire } from '../../../src/piece-sdk/index.js'
import { truthy } from '../truthy.js'

export const ifAction = defineAction({
  name: 'if',
  title: 'If',
  description: 'Passes `input` through on `true` or `false`, by the truthiness of `condition`.',
  inline: true,
  props: v.strictObject({ condition: v.unknown() }),
  handles: ['true', 'false'],
  run: ({ props, input }) => fire(truthy(props.condition) ? 'true' : 'false', input),
})
