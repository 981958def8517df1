// Outbound HTTP.
import { definePiece } from '../../src/piece-sdk/index.js'
import { request } from './actions/request.js'

export default definePiece({
  name: 'http',
  version: '1.0.0',
  title: 'HTTP',
  trusted: true,
  actions: [request],
})
