// The ALT_LAS OS Integration service: commands, files and screenshots on the machine it runs on,
// one HTTP call per step. The contract it implements is docs/os-integration.md; base URL and key
// come from `services.osIntegration` in the engine's config.
import { definePiece } from '../../src/piece-sdk/index.js'
import { command } from './actions/command.js'
import { listFolder } from './actions/list-folder.js'
import { readFile } from './actions/read-file.js'
import { screenshot } from './actions/screenshot.js'
import { writeFile } from './actions/write-file.js'

export default definePiece({
  name: 'os-integration',
  version: '1.0.0',
  trusted: true,
  title: 'OS Integration',
  description:
    'Runs commands, reads, writes and lists files, and takes screenshots on a machine through the ALT_LAS OS Integration service.',
  auth: {
    type: 'apiKey',
    baseUrl: 'required',
    // a service on a private network may run without a key; when one is set it is sent as a bearer token
    required: false,
    description:
      'services.osIntegration.baseUrl (e.g. http://os-integration:8090) and .apiKey, sent as Authorization: Bearer',
  },
  actions: [command, readFile, writeFile, listFolder, screenshot],
})
