import * as v from 'valibot'
import { defineAction } from '../../../src/piece-sdk/index.js'

export const set = defineAction({
  name: 'set',
  title: 'Set a value',
  description: 'Delivers its resolved `value`.',
  inline: true,
  props: v.strictObject({ value: v.optional(v.unknown(), null) }),
  run: ({ props }) => props.value,
})
