import * as v from 'valibot'
import {
  defineAction,
  durationProp,
  parseDuration,
  SIGNAL_NAME,
  TerminalError,
  waitForSignal,
} from '../../../src/piece-sdk/index.js'

export const wait = defineAction({
  name: 'wait',
  title: 'Wait for a signal',
  description:
    'Waits until a signal named `signal` is sent to the run (an approval, a callback), then fires `out` with its data. ' +
    'With `timeout`, fires `timeout` when it passes (if a step needs it), else fails with TIMEOUT. ' +
    '`key` is what a broadcast signal must carry to reach this step.',
  inline: true,
  handles: ['out', 'timeout'],
  props: v.strictObject({
    signal: v.pipe(
      v.string(),
      v.regex(SIGNAL_NAME, 'must be a name of letters, digits, _ . - (at most 100)'),
    ),
    key: v.optional(v.unknown()),
    timeout: v.optional(durationProp()),
  }),
  run: ({ props }) => {
    let until: number | undefined
    if (props.timeout !== undefined) {
      const ms = parseDuration(props.timeout)
      if (ms === undefined)
        throw new TerminalError('INVALID_PROPS', `'${props.timeout}' is not a duration like 10s or 3d`)
      until = Date.now() + ms
    }
    return waitForSignal(props.signal, { key: props.key, until })
  },
})
