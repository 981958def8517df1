import { isDeepStrictEqual } from 'node:util'
import * as v from 'valibot'
import { defineAction, fire } from '../../../src/piece-sdk/index.js'

export const switchAction = defineAction({
  name: 'switch',
  title: 'Switch',
  description: 'Passes `input` through on the first case whose match equals `value`, else on `default`.',
  inline: true,
  props: v.strictObject({
    value: v.unknown(),
    cases: v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/), v.notValue('default')), v.unknown()),
  }),
  // cases written as an expression are only known at run time
  handles: (props) =>
    typeof props.cases === 'object' && props.cases !== null
      ? [...Object.keys(props.cases), 'default']
      : undefined,
  run: ({ props, input }) => {
    const match = Object.entries(props.cases).find(([, expected]) => isDeepStrictEqual(expected, props.value))
    return fire(match ? match[0] : 'default', input)
  },
})
