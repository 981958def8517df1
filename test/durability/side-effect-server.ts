// A node:http server in the test process standing for the outside world: it records every request
// with its Idempotency-Key, so a test can count how often each step's side effect really happened.
// It lives in the test process, so it outlives every engine process the test kills.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface EffectCall {
  /** The Idempotency-Key header (`<runId>:<stepId>`), or null when the request had none. */
  key: string | null
  path: string
  body: unknown
  /** When the request had fully arrived (test-process clock). */
  at: number
  /** The engine process generation whose connection carried the request (see `generation`). */
  gen: number
  /** 1 for the first request with this key, 2 for the second, … */
  call: number
  /** When the answer was handed to the socket; unset while pending or when the caller died first. */
  answeredAt?: number
}

export interface SideEffectOptions {
  /** Each answer waits a random time in this range, so that kills find requests in flight. */
  latencyMs?: [number, number]
}

export class SideEffectServer {
  readonly calls: EffectCall[] = []
  /**
   * Bumped by the test between one engine process and the next. A connection is tagged with the
   * generation current when it was accepted: connections die with the process that opened them.
   */
  generation = 0
  private readonly perKey = new Map<string, EffectCall[]>()
  private readonly socketGen = new WeakMap<Socket, number>()

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(options: SideEffectOptions = {}): Promise<SideEffectServer> {
    const [min, max] = options.latencyMs ?? [0, 0]
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const effects = new SideEffectServer(server, `http://127.0.0.1:${port}`)
    server.on('connection', (socket) => effects.socketGen.set(socket, effects.generation))
    server.on('request', (req, res) => effects.receive(req, res, min + Math.random() * (max - min)))
    return effects
  }

  /** Every request that carried `key`, oldest first. */
  callsFor(key: string): EffectCall[] {
    return this.perKey.get(key) ?? []
  }

  keys(): string[] {
    return [...this.perKey.keys()]
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private receive(req: IncomingMessage, res: ServerResponse, latencyMs: number): void {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const header = req.headers['idempotency-key']
      const key = typeof header === 'string' ? header : null
      const previous = key === null ? [] : this.callsFor(key)
      const call: EffectCall = {
        key,
        path: req.url ?? '/',
        body: parse(text),
        at: Date.now(),
        gen: this.socketGen.get(req.socket) ?? this.generation,
        call: previous.length + 1,
      }
      this.calls.push(call)
      if (key !== null) this.perKey.set(key, [...previous, call])
      const answer = JSON.stringify({ key, call: call.call, path: call.path })
      const timer = setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(answer, () => {
          call.answeredAt = Date.now()
        })
      }, latencyMs)
      res.on('close', () => clearTimeout(timer))
    })
  }
}

function parse(text: string): unknown {
  try {
    return text.length > 0 ? JSON.parse(text) : null
  } catch {
    return text
  }
}
