// Sandboxed JavaScript.
import { definePiece } from '../../src/piece-sdk/index.js'
import { run } from './actions/run.js'

export default definePiece({ name: 'code', version: '1.0.0', title: 'Code', actions: [run] })
