// Sub-workflows: a step that runs another deployed workflow as its child.
import { definePiece } from '../../src/piece-sdk/index.js'
import { run } from './actions/run.js'

export default definePiece({
  name: 'workflow',
  version: '1.0.0',
  trusted: true,
  title: 'Workflow',
  actions: [run],
})
