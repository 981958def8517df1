// A reference implementation of the OS Integration contract (docs/os-integration.md) for tests:
// node:http on 127.0.0.1, real programs, and real files confined to a temporary root folder. It
// records every request it gets and can be told to fail, delay or misanswer the next ones.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, realpathSync } from 'node:fs'
import { lstat, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { constants, tmpdir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { deflateSync } from 'node:zlib'
import * as v from 'valibot'

export interface SeenRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** The parsed JSON body, or its text when it is not JSON. */
  body: unknown
  /** When it arrived (epoch ms). */
  at: number
}

interface Answer {
  status: number
  body: unknown
  headers?: Record<string, string>
}

class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const MAX_BODY_BYTES = 8 * 1024 * 1024
const MAX_STREAM_BYTES = 1024 * 1024
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000
const KILL_GRACE_MS = 1_000
/** The one display this service "captures": a small grey screen named `:0`. */
const SCREEN = { name: ':0', width: 8, height: 6 }

const Path = v.pipe(v.string(), v.minLength(1))
const Encoding = v.optional(v.picklist(['utf8', 'base64']), 'utf8')
const Count = v.pipe(v.number(), v.integer(), v.minValue(1))

const CommandRequest = v.object({
  command: v.pipe(v.string(), v.minLength(1)),
  args: v.optional(v.array(v.string()), []),
  cwd: v.optional(Path, '.'),
  env: v.optional(v.record(v.string(), v.string()), {}),
  stdin: v.optional(v.string(), ''),
  timeoutMs: v.optional(Count, DEFAULT_COMMAND_TIMEOUT_MS),
})
const ReadRequest = v.object({ path: Path, encoding: Encoding, maxBytes: v.optional(Count) })
const WriteRequest = v.object({
  path: Path,
  content: v.string(),
  encoding: Encoding,
  mode: v.optional(v.picklist(['overwrite', 'append', 'create']), 'overwrite'),
  createDirs: v.optional(v.boolean(), false),
})
const ListRequest = v.object({
  path: Path,
  recursive: v.optional(v.boolean(), false),
  pattern: v.optional(v.string()),
  limit: v.optional(Count),
})
const Offset = v.pipe(v.number(), v.integer(), v.minValue(0))
const ScreenshotRequest = v.object({
  display: v.optional(v.string(), SCREEN.name),
  format: v.optional(v.picklist(['png', 'jpeg']), 'png'),
  region: v.optional(v.object({ x: Offset, y: Offset, width: Count, height: Count })),
  saveTo: v.optional(Path),
})

type Handler = (root: string, body: unknown) => Promise<unknown>

function route<T>(schema: v.GenericSchema<unknown, T>, handler: (root: string, body: T) => Promise<unknown>) {
  return (root: string, body: unknown) => {
    const parsed = v.safeParse(schema, body)
    if (!parsed.success) {
      const problems = parsed.issues.map((i) => `${v.getDotPath(i) ?? 'body'}: ${i.message}`)
      throw new ServiceError(400, 'BAD_REQUEST', problems.join('; '))
    }
    return handler(root, parsed.output)
  }
}

const ROUTES: Record<string, Handler> = {
  '/v1/commands': route(CommandRequest, runCommand),
  '/v1/files/read': route(ReadRequest, readOne),
  '/v1/files/write': route(WriteRequest, writeOne),
  '/v1/files/list': route(ListRequest, listFolder),
  '/v1/screenshots': route(ScreenshotRequest, screenshot),
}

export class OsService {
  readonly seen: SeenRequest[] = []
  /** The key requests must carry as a bearer token; none when undefined. */
  apiKey: string | undefined
  private faults: { status: 429 | 503; retryAfter?: number }[] = []
  private delays: number[] = []
  private canned: Answer[] = []
  /** Answers by path and idempotency key, for repeats. */
  private readonly answers = new Map<string, Promise<Answer>>()

  private constructor(
    readonly root: string,
    readonly baseUrl: string,
    private readonly server: Server,
  ) {}

  static async start(options: { apiKey?: string } = {}): Promise<OsService> {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'os-service-')))
    let service: OsService | undefined
    const server = createServer((req, res) => {
      service!.handle(req).then(
        (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
          res.end(JSON.stringify(answer.body))
        },
        // the client went away while its body was being read
        () => res.destroy(),
      )
    })
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    service = new OsService(root, baseUrl, server)
    service.apiKey = options.apiKey
    return service
  }

  /** The next `count` requests answer `status`, with `Retry-After: <seconds>` when given. */
  failNext(count: number, status: 429 | 503, retryAfterSeconds?: number): void {
    for (let i = 0; i < count; i++) this.faults.push({ status, retryAfter: retryAfterSeconds })
  }

  /** The next `count` requests that do work take `ms` longer. */
  delayNext(ms: number, count = 1): void {
    for (let i = 0; i < count; i++) this.delays.push(ms)
  }

  /** The next request gets this answer, whatever it asks: for a service that breaks the contract. */
  answerNext(body: unknown, status = 200): void {
    this.canned.push({ status, body })
  }

  /** The requests to one endpoint, in arrival order. */
  requests(path: string): SeenRequest[] {
    return this.seen.filter((r) => r.path === path)
  }

  reset(): void {
    this.seen.length = 0
    this.faults = []
    this.delays = []
    this.canned = []
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((done) => this.server.close(done))
    await rm(this.root, { recursive: true, force: true })
  }

  private async handle(req: IncomingMessage): Promise<Answer> {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    const path = new URL(req.url ?? '/', this.baseUrl).pathname
    this.seen.push({ method: req.method ?? '', path, headers: req.headers, body, at: Date.now() })
    try {
      if (size > MAX_BODY_BYTES)
        throw new ServiceError(413, 'TOO_LARGE', `bodies are limited to ${MAX_BODY_BYTES} bytes`)
      return await this.answer(req.method ?? '', path, req.headers, body)
    } catch (error) {
      return errorAnswer(error)
    }
  }

  private async answer(method: string, path: string, headers: IncomingHttpHeaders, body: unknown) {
    const fault = this.faults.shift()
    if (fault) {
      const code = fault.status === 429 ? 'RATE_LIMITED' : 'UNAVAILABLE'
      const answer = errorAnswer(new ServiceError(fault.status, code, 'try again later'))
      if (fault.retryAfter !== undefined) answer.headers = { 'retry-after': String(fault.retryAfter) }
      return answer
    }
    const canned = this.canned.shift()
    if (canned) return canned
    if (this.apiKey !== undefined && headers.authorization !== `Bearer ${this.apiKey}`)
      throw new ServiceError(401, 'UNAUTHORIZED', 'a valid bearer key is required')
    const handler = ROUTES[path]
    if (!handler || method !== 'POST')
      throw new ServiceError(404, 'NOT_FOUND', `no endpoint ${method} ${path}`)
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ServiceError(400, 'BAD_REQUEST', 'the body must be a JSON object')
    const key = headers['idempotency-key']
    const id = typeof key === 'string' ? `${path} ${key}` : undefined
    const earlier = id === undefined ? undefined : this.answers.get(id)
    if (earlier) {
      const answer = await earlier
      if (answer.status < 300) return { ...answer, headers: { 'idempotent-replayed': 'true' } }
    }
    const work = this.work(handler, body)
    if (id !== undefined) {
      this.answers.set(id, work)
      // only successes are replayed: after an error the next attempt does the work
      void work.then((answer) => {
        if (answer.status >= 300 && this.answers.get(id) === work) this.answers.delete(id)
      })
    }
    return work
  }

  private async work(handler: Handler, body: unknown): Promise<Answer> {
    const delay = this.delays.shift()
    if (delay) await new Promise((done) => setTimeout(done, delay).unref())
    try {
      return { status: 200, body: await handler(this.root, body) }
    } catch (error) {
      return errorAnswer(error)
    }
  }
}

function errorAnswer(error: unknown): Answer {
  const known = error instanceof ServiceError ? error : fsError(error)
  return { status: known.status, body: { error: { code: known.code, message: known.message } } }
}

/** File system failures in the contract's terms; anything else is the service's own fault. */
function fsError(error: unknown): ServiceError {
  const { code, message } = error as { code?: string; message?: string }
  const status = {
    ENOENT: [404, 'NOT_FOUND'],
    EEXIST: [409, 'EXISTS'],
    EISDIR: [422, 'NOT_A_FILE'],
    ENOTDIR: [422, 'NOT_A_DIRECTORY'],
    EACCES: [403, 'FORBIDDEN'],
    EPERM: [403, 'FORBIDDEN'],
  }[code ?? ''] as [number, string] | undefined
  return new ServiceError(status?.[0] ?? 500, status?.[1] ?? 'INTERNAL', message ?? String(error))
}

const within = (root: string, path: string) => path === root || path.startsWith(`${root}${sep}`)

/** The absolute path, which must stay in the root once `..` and symbolic links are resolved. */
async function inRoot(root: string, path: string): Promise<string> {
  const full = resolve(root, path)
  let existing = full
  while (!existsSync(existing)) existing = dirname(existing)
  if (!within(root, full) || !within(root, await realpath(existing)))
    throw new ServiceError(403, 'FORBIDDEN', `${path} is outside the folder this service may use`)
  return full
}

function capture(stream: Readable): () => string {
  const chunks: Buffer[] = []
  let size = 0
  stream.on('data', (chunk: Buffer) => {
    if (size < MAX_STREAM_BYTES) chunks.push(chunk.subarray(0, MAX_STREAM_BYTES - size))
    size += chunk.length
  })
  return () => Buffer.concat(chunks).toString('utf8')
}

async function runCommand(root: string, body: v.InferOutput<typeof CommandRequest>) {
  const cwd = await inRoot(root, body.cwd)
  if (!(await stat(cwd).catch(() => undefined))?.isDirectory())
    throw new ServiceError(404, 'NOT_FOUND', `the working folder ${cwd} does not exist`)
  const started = performance.now()
  const child = spawn(body.command, body.args, { cwd, env: { ...process.env, ...body.env } })
  const stdout = capture(child.stdout)
  const stderr = capture(child.stderr)
  // a program may exit without reading its input
  child.stdin.on('error', () => {})
  child.stdin.end(body.stdin)
  let timedOut = false
  let killer: NodeJS.Timeout | undefined
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGTERM')
    killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
  }, body.timeoutMs)
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
      child.once('error', fail)
      child.once('close', (code, signal) => done([code, signal]))
    })
    const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0)
    const durationMs = Math.round(performance.now() - started)
    return { exitCode, stdout: stdout(), stderr: stderr(), durationMs, timedOut }
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT')
      throw new ServiceError(404, 'NOT_FOUND', `no program ${body.command}`)
    throw error
  } finally {
    clearTimeout(timer)
    clearTimeout(killer)
  }
}

async function readOne(root: string, body: v.InferOutput<typeof ReadRequest>) {
  const path = await inRoot(root, body.path)
  const info = await stat(path)
  if (info.isDirectory()) throw new ServiceError(422, 'NOT_A_FILE', `${path} is a folder`)
  if (body.maxBytes !== undefined && info.size > body.maxBytes)
    throw new ServiceError(413, 'TOO_LARGE', `${path} has ${info.size} bytes, over maxBytes ${body.maxBytes}`)
  const bytes = await readFile(path)
  return { path, content: bytes.toString(body.encoding), encoding: body.encoding, size: bytes.length }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const FLAGS = { overwrite: 'w', append: 'a', create: 'wx' } as const

async function writeOne(root: string, body: v.InferOutput<typeof WriteRequest>) {
  const path = await inRoot(root, body.path)
  if (body.encoding === 'base64' && !BASE64.test(body.content))
    throw new ServiceError(422, 'INVALID_CONTENT', 'content is not base64')
  if (body.createDirs) await mkdir(dirname(path), { recursive: true })
  else if (!(await stat(dirname(path)).catch(() => undefined))?.isDirectory())
    throw new ServiceError(404, 'NOT_FOUND', `the folder ${dirname(path)} does not exist`)
  if ((await stat(path).catch(() => undefined))?.isDirectory())
    throw new ServiceError(422, 'NOT_A_FILE', `${path} is a folder`)
  try {
    await writeFile(path, Buffer.from(body.content, body.encoding), { flag: FLAGS[body.mode] })
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST')
      throw new ServiceError(409, 'EXISTS', `${path} exists already`)
    throw error
  }
  return { path, size: (await stat(path)).size }
}

/** `*`, `?` and `[set]` (`[!set]` negated), matched against a whole name. */
function globPattern(glob: string): RegExp {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    const end = c === '[' ? glob.indexOf(']', i + 2) : -1
    if (c === '*') source += '.*'
    else if (c === '?') source += '.'
    else if (end > 0) {
      const set = glob
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replaceAll('\\', '\\\\')
      source += `[${set}]`
      i = end
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return new RegExp(`^${source}$`, 's')
}

function entryType(info: Awaited<ReturnType<typeof lstat>>) {
  if (info.isSymbolicLink()) return 'symlink'
  if (info.isDirectory()) return 'directory'
  return info.isFile() ? 'file' : 'other'
}

async function listFolder(root: string, body: v.InferOutput<typeof ListRequest>) {
  const path = await inRoot(root, body.path)
  if (!(await stat(path)).isDirectory()) throw new ServiceError(422, 'NOT_A_DIRECTORY', `${path} is a file`)
  const match = body.pattern === undefined ? undefined : globPattern(body.pattern)
  const limit = body.limit ?? Number.POSITIVE_INFINITY
  const entries: { name: string; path: string; type: string; size: number; modifiedAt: string }[] = []
  const visit = async (folder: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      // one entry past the limit tells that the list is truncated
      if (entries.length > limit) return
      const full = join(folder, name)
      const info = await lstat(full)
      const type = entryType(info)
      if (!match || match.test(name))
        entries.push({
          name,
          path: full,
          type,
          size: type === 'file' ? info.size : 0,
          modifiedAt: info.mtime.toISOString(),
        })
      if (body.recursive && type === 'directory') await visit(full)
    }
  }
  await visit(path)
  return { path, entries: entries.slice(0, limit), truncated: entries.length > limit }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Buffer): number {
  let c = 0xffffffff
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const frame = Buffer.alloc(8)
  frame.writeUInt32BE(data.length, 0)
  frame.writeUInt32BE(crc32(typed), 4)
  return Buffer.concat([frame.subarray(0, 4), typed, frame.subarray(4)])
}

/** A grey RGB image of the given size. */
export function greyPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8 // bits per channel
  header[9] = 2 // RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x80)])
  const pixels = Buffer.concat(Array.from({ length: height }, () => row))
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(pixels)),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

async function screenshot(root: string, body: v.InferOutput<typeof ScreenshotRequest>) {
  if (body.display !== SCREEN.name) throw new ServiceError(404, 'NOT_FOUND', `no display ${body.display}`)
  if (body.format !== 'png')
    throw new ServiceError(422, 'UNSUPPORTED_FORMAT', 'this service captures PNG images only')
  const region = body.region ?? { x: 0, y: 0, width: SCREEN.width, height: SCREEN.height }
  if (region.x + region.width > SCREEN.width || region.y + region.height > SCREEN.height)
    throw new ServiceError(422, 'INVALID_REGION', `the display is ${SCREEN.width}x${SCREEN.height}`)
  const image = greyPng(region.width, region.height)
  const size = { format: body.format, width: region.width, height: region.height }
  if (body.saveTo === undefined) return { ...size, data: image.toString('base64') }
  const path = await inRoot(root, body.saveTo)
  await writeFile(path, image)
  return { ...size, path }
}
