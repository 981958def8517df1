import * as v from 'valibot'
import {
  defineAction,
  durationProp,
  parseDuration,
  TerminalError,
  waitUntil,
} from '../../../src/piece-sdk/index.js'

export const delay = defineAction({
  name: 'delay',
  title: 'Delay',
  description: 'Passes `input` through once `for` (a duration) has passed or `until` (an ISO time) has come.',
  inline: true,
  props: v.pipe(
    v.strictObject({
      for: v.optional(durationProp()),
      until: v.optional(v.pipe(v.string(), v.isoTimestamp('must be an ISO time like 2026-01-01T09:00:00Z'))),
    }),
    v.check(
      (p) => (p.for === undefined) !== (p.until === undefined),
      'give exactly one of `for` and `until`',
    ),
  ),
  run: ({ props, input }) => {
    if (props.until !== undefined) return waitUntil(new Date(props.until), input)
    const ms = parseDuration(props.for!)
    if (ms === undefined)
      throw new TerminalError('INVALID_PROPS', `'${props.for}' is not a duration like 10s or 5m`)
    return waitUntil(Date.now() + ms, input)
  },
})
