import * as v from 'valibot'
import { defineAction } from '../../../src/piece-sdk/index.js'

export const merge = defineAction({
  name: 'merge',
  title: 'Merge',
  description: 'Delivers `inputs`: one key per delivering need, by step id.',
  inline: true,
  props: v.strictObject({}),
  run: ({ inputs }) => inputs,
})
