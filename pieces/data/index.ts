// Data shaping.
import { definePiece } from '../../src/piece-sdk/index.js'
import { set } from './actions/set.js'

export default definePiece({ name: 'data', version: '1.0.0', title: 'Data', trusted: true, actions: [set] })
