// One call to the OpenAI-compatible API with the configured base URL and key.
import { type ActionContext, callConfiguredService, type ServiceResponse } from '../../src/piece-sdk/index.js'

export function callOrchestrator(
  ctx: ActionContext<unknown>,
  path: string,
  body: unknown,
): Promise<ServiceResponse> {
  return callConfiguredService(ctx, { service: 'AI Orchestrator', path, body })
}

export interface Usage {
  promptTokens: number
  completionTokens: number
  totalTokens: number
}

/** OpenAI's `usage` in camel case; zeros where a gateway leaves it out. */
export function usageOf(body: { usage?: Record<string, unknown> }): Usage {
  const n = (key: string) => (typeof body.usage?.[key] === 'number' ? (body.usage[key] as number) : 0)
  return {
    promptTokens: n('prompt_tokens'),
    completionTokens: n('completion_tokens'),
    totalTokens: n('total_tokens'),
  }
}
