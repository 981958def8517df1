// The ALT_LAS AI Orchestrator, or any OpenAI-compatible model gateway: chat completions and
// embeddings. Base URL and key come from `services.aiOrchestrator` in the engine's config.
import { definePiece } from '../../src/piece-sdk/index.js'
import { chat } from './actions/chat.js'
import { embed } from './actions/embed.js'

export default definePiece({
  name: 'ai-orchestrator',
  version: '1.0.0',
  trusted: true,
  title: 'AI Orchestrator',
  description:
    'Chat completions and embeddings through the OpenAI-compatible API of the ALT_LAS AI Orchestrator (or any model gateway).',
  auth: {
    type: 'apiKey',
    baseUrl: 'required',
    // local gateways often need no key; when one is set it is sent as a bearer token
    required: false,
    description:
      'services.aiOrchestrator.baseUrl (e.g. http://orchestrator:8080) and .apiKey, sent as Authorization: Bearer',
  },
  actions: [chat, embed],
})
