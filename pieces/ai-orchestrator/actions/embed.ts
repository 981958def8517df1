import * as v from 'valibot'
import { defineAction, PieceError } from '../../../src/piece-sdk/index.js'
import { callOrchestrator, usageOf } from '../client.js'

export const embed = defineAction({
  name: 'embed',
  title: 'Embed',
  description: 'Turns texts into vectors, one per text, in the order given.',
  props: v.strictObject({
    texts: v.pipe(
      v.array(v.string()),
      v.minLength(1, 'give at least one text'),
      v.description('one vector comes back per text'),
    ),
    model: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1),
        v.description("the embedding model; the gateway's default when left out"),
      ),
    ),
    dimensions: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.description('shorter vectors, for models that allow it'),
      ),
    ),
  }),
  output: v.object({
    vectors: v.array(v.array(v.number())),
    model: v.string(),
    usage: v.object({ promptTokens: v.number(), totalTokens: v.number() }),
  }),
  run: async (ctx) => {
    const { props } = ctx
    const { body } = await callOrchestrator(ctx, '/v1/embeddings', {
      ...(props.model ? { model: props.model } : {}),
      input: props.texts,
      ...(props.dimensions ? { dimensions: props.dimensions } : {}),
    })
    const answer = body as {
      model?: string
      data?: { index?: number; embedding?: unknown }[]
      usage?: Record<string, unknown>
    }
    const data = answer.data
    const valid =
      Array.isArray(data) &&
      data.length === props.texts.length &&
      data.every((d) => Array.isArray(d.embedding) && d.embedding.every((x) => typeof x === 'number'))
    if (!valid) {
      throw new PieceError(
        'AI_INVALID_RESPONSE',
        `the AI Orchestrator answered ${Array.isArray(data) ? data.length : 'no'} embeddings for ${props.texts.length} texts`,
        { details: { body: answer } },
      )
    }
    // the API may answer out of order: `index` says which text each vector belongs to
    const ordered = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
    const { promptTokens, totalTokens } = usageOf(answer)
    return {
      vectors: ordered.map((d) => d.embedding as number[]),
      model: answer.model ?? props.model ?? 'unknown',
      usage: { promptTokens, totalTokens },
    }
  },
})
