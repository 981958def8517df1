// A local stand-in for the AI Orchestrator: the OpenAI-compatible chat and embeddings endpoints
// on 127.0.0.1, answering from the request by default, or from a script of canned answers.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface GatewayRequest {
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
  /** When it arrived (ms since the epoch). */
  at: number
}

export interface CannedAnswer {
  status?: number
  headers?: Record<string, string>
  /** An object is sent as JSON; a string as is. */
  body?: unknown
  /** Answer after this long (a request that is aborted first gets nothing). */
  delayMs?: number
  /** Chat only: send this as the model's message content (status 200). */
  content?: string
}

export class ModelGateway {
  readonly requests: GatewayRequest[] = []
  private readonly script: CannedAnswer[] = []
  private server: Server | undefined
  url = ''

  /** The next calls get these answers, in order; then the default answers resume. */
  answer(...answers: CannedAnswer[]): void {
    this.script.push(...answers)
  }

  reset(): void {
    this.requests.length = 0
    this.script.length = 0
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>
        const request = { path: req.url ?? '/', headers: req.headers, body, at: Date.now() }
        this.requests.push(request)
        const canned = this.script.shift()
        const send = () => {
          const { status, headers, payload } = this.reply(request, canned)
          res.writeHead(status, { 'content-type': 'application/json', ...headers })
          res.end(typeof payload === 'string' ? payload : JSON.stringify(payload))
        }
        if (!canned?.delayMs) return send()
        const timer = setTimeout(send, canned.delayMs)
        res.on('close', () => clearTimeout(timer))
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise((resolve) => this.server?.close(resolve))
  }

  private reply(request: GatewayRequest, canned: CannedAnswer | undefined) {
    const headers = canned?.headers ?? {}
    if (canned && canned.content === undefined && (canned.body !== undefined || canned.status !== undefined))
      return { status: canned.status ?? 200, headers, payload: canned.body ?? '' }
    if (request.path === '/v1/embeddings') return { status: 200, headers, payload: embeddings(request.body) }
    if (request.path !== '/v1/chat/completions')
      return { status: 404, headers, payload: { error: { message: `no route ${request.path}` } } }
    return { status: 200, headers, payload: completion(request.body, canned?.content) }
  }
}

function completion(body: Record<string, unknown>, content?: string) {
  const messages = (body.messages ?? []) as { role: string; content: string }[]
  const last = messages.filter((m) => m.role === 'user').at(-1)?.content ?? ''
  const json = (body.response_format as { type?: string } | undefined)?.type === 'json_object'
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model: body.model ?? 'gateway-default',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: content ?? (json ? JSON.stringify({ echo: last }) : `echo: ${last}`),
        },
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: messages.length * 10,
      completion_tokens: 5,
      total_tokens: messages.length * 10 + 5,
    },
  }
}

/** A vector per text: its length and its character codes' sum; answered in reverse order. */
function embeddings(body: Record<string, unknown>) {
  const input = (body.input ?? []) as string[]
  const data = input.map((text, index) => ({
    object: 'embedding',
    index,
    embedding: [text.length, [...text].reduce((sum, ch) => sum + ch.charCodeAt(0), 0)],
  }))
  return {
    object: 'list',
    model: body.model ?? 'embed-default',
    data: data.reverse(),
    usage: { prompt_tokens: input.length * 3, total_tokens: input.length * 3 },
  }
}
