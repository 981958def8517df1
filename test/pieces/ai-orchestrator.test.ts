// The ai-orchestrator piece through a real engine against a local OpenAI-compatible gateway.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ValidationError } from '../../src/errors.js'
import { Engine } from '../../src/runtime/engine.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { expectFailed, runOk, type StepOptions, step, stepOf, workflow } from '../integration/workflows.js'
import { ModelGateway } from './model-gateway.js'

const API_KEY = 'sk-test-orchestrator-key-1234'
const gateway = new ModelGateway()
let engine: Engine

beforeAll(async () => {
  await gateway.start()
  engine = await Engine.open({
    databaseUrl: await freshDatabaseUrl(),
    threads: 2,
    credentials: { 'ai-orchestrator': { baseUrl: `${gateway.url}/`, apiKey: API_KEY } },
  })
})

afterAll(async () => {
  await engine?.close()
  await gateway.stop()
})

beforeEach(() => gateway.reset())

function chat(props: Record<string, unknown>, options: StepOptions = {}) {
  return workflow('ai-chat', [step('ask', 'ai-orchestrator.chat', props, options)])
}

function embed(props: Record<string, unknown>, options: StepOptions = {}) {
  return workflow('ai-embed', [step('vectors', 'ai-orchestrator.embed', props, options)])
}

const quickRetry = { retry: { attempts: 3, backoff: 'fixed', delay: '10ms' } }

describe(`ai-orchestrator.chat (${TEST_DB})`, () => {
  it('sends a prompt with system text, model and limits, and answers text, model and usage', async () => {
    const run = await runOk(
      engine,
      chat({
        prompt: '{{ input.question }}',
        system: 'Answer briefly.',
        model: 'small-1',
        temperature: 0.2,
        maxTokens: 64,
      }),
      { question: 'what is piecework?' },
    )
    expect(run.output).toEqual({
      text: 'echo: what is piecework?',
      model: 'small-1',
      finishReason: 'stop',
      usage: { promptTokens: 20, completionTokens: 5, totalTokens: 25 },
    })
    expect(gateway.requests).toHaveLength(1)
    const [request] = gateway.requests
    expect(request!.path).toBe('/v1/chat/completions')
    expect(request!.body).toEqual({
      model: 'small-1',
      messages: [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: 'what is piecework?' },
      ],
      temperature: 0.2,
      max_tokens: 64,
    })
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(request!.headers['idempotency-key']).toBe(`${run.id}:ask`)
  })

  it('sends a list of messages as given, without a model when none is named', async () => {
    const messages = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'and now?' },
    ]
    const run = await runOk(engine, chat({ messages }))
    expect(run.output).toMatchObject({ text: 'echo: and now?', model: 'gateway-default' })
    expect(gateway.requests[0]!.body).toEqual({ messages })
  })

  it('parses the answer in JSON mode and asks the model for a JSON object', async () => {
    const run = await runOk(engine, chat({ prompt: 'classify', responseFormat: 'json' }))
    expect(run.output).toMatchObject({ json: { echo: 'classify' }, text: '{"echo":"classify"}' })
    expect(gateway.requests[0]!.body.response_format).toEqual({ type: 'json_object' })
  })

  it('accepts JSON fenced as a code block', async () => {
    gateway.answer({ content: '```json\n{"label": "spam"}\n```' })
    const run = await runOk(engine, chat({ prompt: 'classify', responseFormat: 'json' }))
    expect((run.output as { json: unknown }).json).toEqual({ label: 'spam' })
  })

  it('fails the attempt with AI_INVALID_JSON when the answer is not JSON, and a retry may mend it', async () => {
    gateway.answer({ content: 'Sure! Here is the JSON you asked for' })
    const failed = await engine.runOnce(chat({ prompt: 'classify', responseFormat: 'json' }), {})
    expect(expectFailed(failed, 'ask', 'AI_INVALID_JSON').message).toMatch(/not JSON/)

    gateway.answer({ content: 'not json either' })
    const mended = await runOk(engine, chat({ prompt: 'classify', responseFormat: 'json' }, quickRetry))
    expect(stepOf(mended, 'ask').attempts).toBe(2)
    expect((mended.output as { json: unknown }).json).toEqual({ echo: 'classify' })
  })

  it('retries a 429 after the Retry-After the gateway asks for', async () => {
    gateway.answer({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { message: 'rate limited', type: 'rate_limit' } },
    })
    const run = await runOk(engine, chat({ prompt: 'hello' }, quickRetry))
    expect(stepOf(run, 'ask').attempts).toBe(2)
    expect(gateway.requests).toHaveLength(2)
    expect(retryGap()).toBeGreaterThanOrEqual(950)
  })

  it('retries 5xx answers and succeeds when the gateway recovers', async () => {
    gateway.answer({ status: 503, body: 'upstream busy' }, { status: 502, body: { error: 'bad gateway' } })
    const run = await runOk(engine, chat({ prompt: 'hello' }, quickRetry))
    expect(stepOf(run, 'ask').attempts).toBe(3)
  })

  it('gives up on 5xx after the last attempt with HTTP_<status>', async () => {
    gateway.answer({ status: 500 }, { status: 500 }, { status: 500 })
    const run = await engine.runOnce(chat({ prompt: 'hello' }, quickRetry), {})
    expectFailed(run, 'ask', 'HTTP_500')
    expect(stepOf(run, 'ask').attempts).toBe(3)
  })

  it('does not retry a 400 and names the service message', async () => {
    gateway.answer({
      status: 400,
      body: { error: { message: "model 'huge-9' does not exist", code: 'model_not_found' } },
    })
    const run = await engine.runOnce(chat({ prompt: 'hello', model: 'huge-9' }, quickRetry), {})
    const error = expectFailed(run, 'ask', 'HTTP_400') as { message: string; details?: unknown }
    expect(error.message).toContain("model 'huge-9' does not exist")
    expect(stepOf(run, 'ask').attempts).toBe(1)
    expect(stepOf(run, 'ask').error).toMatchObject({ details: { serviceCode: 'model_not_found' } })
  })

  it('fails with HTTP_401 when the gateway refuses the key', async () => {
    gateway.answer({ status: 401, body: { error: { message: 'invalid api key' } } })
    const run = await engine.runOnce(chat({ prompt: 'hello' }, quickRetry), {})
    expectFailed(run, 'ask', 'HTTP_401')
    expect(gateway.requests).toHaveLength(1)
  })

  it('times out when the gateway is slower than the step allows', async () => {
    gateway.answer({ delayMs: 3_000, content: 'too late' })
    const started = Date.now()
    const run = await engine.runOnce(chat({ prompt: 'hello' }, { timeout: '300ms' }), {})
    expectFailed(run, 'ask', 'TIMEOUT')
    expect(Date.now() - started).toBeLessThan(2_500)
  })

  it('fails with AI_INVALID_RESPONSE when the answer has no message', async () => {
    gateway.answer({ body: { choices: [] } })
    expectFailed(await engine.runOnce(chat({ prompt: 'hello' }), {}), 'ask', 'AI_INVALID_RESPONSE')
  })

  it('fails with INVALID_RESPONSE when a 200 answer is not JSON', async () => {
    gateway.answer({ body: '<html>proxy page</html>' })
    expectFailed(await engine.runOnce(chat({ prompt: 'hello' }), {}), 'ask', 'INVALID_RESPONSE')
  })

  describe('bad props', () => {
    it('rejects prompt and messages together before anything runs', async () => {
      const error = await engine
        .runOnce(chat({ prompt: 'a', messages: [{ role: 'user', content: 'b' }] }), {})
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      expect(JSON.stringify((error as ValidationError).problems)).toContain('either prompt or messages')
    })

    it('rejects a temperature out of range and an unknown response format', async () => {
      const error = await engine
        .runOnce(chat({ prompt: 'a', temperature: 5, responseFormat: 'yaml' }), {})
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      const text = JSON.stringify((error as ValidationError).problems)
      expect(text).toContain('steps[0].with.temperature')
      expect(text).toContain('steps[0].with.responseFormat')
    })

    it('fails with INVALID_PROPS when an expression gives an empty prompt', async () => {
      const run = await engine.runOnce(chat({ prompt: '{{ input.q }}' }), { q: '' })
      expectFailed(run, 'ask', 'INVALID_PROPS')
      expect(gateway.requests).toHaveLength(0)
    })
  })
})

describe(`ai-orchestrator.embed (${TEST_DB})`, () => {
  it('answers one vector per text, in the order of the texts', async () => {
    const run = await runOk(engine, embed({ texts: ['ab', 'abc'], model: 'embed-small' }))
    expect(run.output).toEqual({
      vectors: [
        [2, 97 + 98],
        [3, 97 + 98 + 99],
      ],
      model: 'embed-small',
      usage: { promptTokens: 6, totalTokens: 6 },
    })
    expect(gateway.requests[0]).toMatchObject({
      path: '/v1/embeddings',
      body: { model: 'embed-small', input: ['ab', 'abc'] },
    })
  })

  it('fails with AI_INVALID_RESPONSE when the count of vectors is wrong', async () => {
    gateway.answer({ body: { data: [{ index: 0, embedding: [1] }], model: 'm' } })
    const run = await engine.runOnce(embed({ texts: ['a', 'b'] }), {})
    expect(expectFailed(run, 'vectors', 'AI_INVALID_RESPONSE').message).toMatch(/1 embeddings for 2 texts/)
  })

  it('retries a 503 on embeddings too', async () => {
    gateway.answer({ status: 503, headers: { 'retry-after': '0' }, body: { error: 'warming up' } })
    const run = await runOk(engine, embed({ texts: ['a'] }, quickRetry))
    expect(stepOf(run, 'vectors').attempts).toBe(2)
  })

  it('rejects an empty list of texts before anything runs', async () => {
    const error = await engine.runOnce(embed({ texts: [] }), {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect(JSON.stringify((error as ValidationError).problems)).toContain('at least one text')
  })
})

describe(`ai-orchestrator without configuration (${TEST_DB})`, () => {
  it('fails with NOT_CONFIGURED naming the missing key, and calls nothing', async () => {
    const bare = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 1 })
    try {
      const run = await bare.runOnce(chat({ prompt: 'hello' }, quickRetry), {})
      expect(expectFailed(run, 'ask', 'NOT_CONFIGURED').message).toContain('services.aiOrchestrator.baseUrl')
      expect(stepOf(run, 'ask').attempts).toBe(1)
      expect(gateway.requests).toHaveLength(0)
    } finally {
      await bare.close()
    }
  })
})

/** Milliseconds between the gateway's first and second request. */
function retryGap(): number {
  const times = gateway.requests.map((r) => r.at)
  return times[1]! - times[0]!
}
