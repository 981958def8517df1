// Control flow: branches, joins, durable waits (for a time or a signal) and deliberate failures.
import { definePiece } from '../../src/piece-sdk/index.js'
import { delay } from './actions/delay.js'
import { fail } from './actions/fail.js'
import { ifAction } from './actions/if.js'
import { merge } from './actions/merge.js'
import { switchAction } from './actions/switch.js'
import { wait } from './actions/wait.js'

export default definePiece({
  name: 'flow',
  version: '1.0.0',
  trusted: true,
  title: 'Flow',
  actions: [ifAction, switchAction, merge, delay, fail, wait],
})
