import * as v from 'valibot'
import { defineAction, PieceError } from '../../../src/piece-sdk/index.js'
import { callOrchestrator, usageOf } from '../client.js'

const Message = v.strictObject({
  role: v.picklist(['system', 'user', 'assistant']),
  content: v.string(),
})

const Usage = v.object({ promptTokens: v.number(), completionTokens: v.number(), totalTokens: v.number() })

/** The model's answer as JSON; a fenced ```json block is accepted too. */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text)
  try {
    return { ok: true, value: JSON.parse(fenced ? fenced[1]! : text) }
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }
}

export const chat = defineAction({
  name: 'chat',
  title: 'Chat',
  description:
    'Asks a model: `prompt` (with optional `system`) or a list of `messages`. With `responseFormat: json` the answer must parse as JSON, else the attempt fails with AI_INVALID_JSON.',
  props: v.pipe(
    v.strictObject({
      prompt: v.optional(
        v.pipe(v.string(), v.minLength(1), v.description('the user message; or give messages')),
      ),
      system: v.optional(v.pipe(v.string(), v.description('instructions sent first, as the system message'))),
      messages: v.optional(
        v.pipe(
          v.array(Message),
          v.minLength(1),
          v.description('the conversation so far: [{ role, content }]'),
        ),
      ),
      model: v.optional(
        v.pipe(v.string(), v.minLength(1), v.description("the model; the gateway's default when left out")),
      ),
      temperature: v.optional(
        v.pipe(v.number(), v.minValue(0), v.maxValue(2), v.description('0 for the most predictable answers')),
      ),
      maxTokens: v.optional(
        v.pipe(v.number(), v.integer(), v.minValue(1), v.description('the longest answer, in tokens')),
      ),
      responseFormat: v.optional(
        v.pipe(
          v.picklist(['text', 'json']),
          v.description('json: the answer must parse as JSON, delivered as json'),
        ),
        'text',
      ),
    }),
    v.check(
      (props) => (props.prompt === undefined) !== (props.messages === undefined),
      'give either prompt or messages, not both',
    ),
  ),
  output: v.object({
    text: v.string(),
    json: v.optional(v.unknown()),
    model: v.string(),
    finishReason: v.nullable(v.string()),
    usage: Usage,
  }),
  run: async (ctx) => {
    const { props } = ctx
    const messages = props.messages ?? [
      ...(props.system !== undefined ? [{ role: 'system' as const, content: props.system }] : []),
      { role: 'user' as const, content: props.prompt! },
    ]
    if (props.messages && props.system !== undefined)
      messages.unshift({ role: 'system', content: props.system })
    const request = {
      ...(props.model ? { model: props.model } : {}),
      messages,
      ...(props.temperature !== undefined ? { temperature: props.temperature } : {}),
      ...(props.maxTokens !== undefined ? { max_tokens: props.maxTokens } : {}),
      ...(props.responseFormat === 'json' ? { response_format: { type: 'json_object' } } : {}),
    }
    ctx.log.debug(`chat with ${messages.length} message(s)`, { model: props.model ?? null })
    const { body } = await callOrchestrator(ctx, '/v1/chat/completions', request)
    const answer = body as {
      model?: string
      choices?: { message?: { content?: unknown }; finish_reason?: string | null }[]
      usage?: Record<string, unknown>
    }
    const choice = answer.choices?.[0]
    const text = choice?.message?.content
    if (typeof text !== 'string') {
      throw new PieceError(
        'AI_INVALID_RESPONSE',
        'the AI Orchestrator answered without choices[0].message.content',
        {
          details: { body: answer },
        },
      )
    }
    const result = {
      text,
      model: answer.model ?? props.model ?? 'unknown',
      finishReason: choice?.finish_reason ?? null,
      usage: usageOf(answer),
    }
    if (props.responseFormat !== 'json') return result
    const parsed = parseJsonAnswer(text)
    if (!parsed.ok) {
      // another attempt may well answer valid JSON: the step's retry policy decides
      throw new PieceError('AI_INVALID_JSON', `the model's answer is not JSON (${parsed.reason})`, {
        details: { text: text.slice(0, 1000) },
      })
    }
    return { ...result, json: parsed.value }
  },
})
