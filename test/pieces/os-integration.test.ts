// The os-integration piece through a real engine, against the reference OS Integration service.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ValidationError } from '../../src/errors.js'
import { Engine } from '../../src/runtime/engine.js'
import type { RunView } from '../../src/store/runs.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { expectFailed, runOk, type StepOptions, step, stepOf, workflow } from '../integration/workflows.js'
import { OsService } from './os-service.js'

const API_KEY = 'os-test-key-5d1e9c'
const NODE = process.execPath

let engine: Engine
let service: OsService

beforeAll(async () => {
  service = await OsService.start({ apiKey: API_KEY })
  engine = await Engine.open({
    databaseUrl: await freshDatabaseUrl(),
    threads: 2,
    credentials: { 'os-integration': { baseUrl: service.baseUrl, apiKey: API_KEY } },
  })
})

afterAll(async () => {
  await engine?.close()
  await service?.close()
})

beforeEach(() => {
  service.reset()
  service.apiKey = API_KEY
})

/** A workflow of one `os-integration.<action>` step named `os`. */
function os(action: string, props: Record<string, unknown>, options: StepOptions = {}) {
  return workflow('os', [step('os', `os-integration.${action}`, props, options)])
}

/** A path in the service's root folder. */
function inRoot(...parts: string[]): string {
  return join(service.root, ...parts)
}

/** The failed step's error; `details` as the piece or the service put them. */
function failure(run: RunView, code: string) {
  return expectFailed(run, 'os', code) as { code: string; message: string; details?: Record<string, unknown> }
}

/** A step error that came from the service's error answer: its message and details. */
function serviceError(run: RunView, code: string) {
  const { message, details } = failure(run, code)
  return { message, ...(details as { status: number; serviceCode?: string }) }
}

const RETRY = { attempts: 3, delay: '10ms' }

describe(`os-integration against the reference service (${TEST_DB})`, () => {
  describe('command', () => {
    it('runs a program with its arguments, environment, folder and input, and delivers what it wrote', async () => {
      mkdirSync(inRoot('work'), { recursive: true })
      const script = `let input = ''
process.stdin.on('data', (d) => (input += d)).on('end', () => {
  process.stdout.write([process.env.GREETING, process.argv[1], input, require('path').basename(process.cwd())].join('|'))
  process.stderr.write('a note')
})`
      const props = {
        command: NODE,
        args: ['-e', script, 'hello'],
        cwd: 'work',
        env: { GREETING: 'hi' },
        stdin: 'from stdin',
        timeout: '30s',
      }
      const run = await runOk(engine, os('command', props))
      expect(run.output).toEqual({
        exitCode: 0,
        stdout: 'hi|hello|from stdin|work',
        stderr: 'a note',
        durationMs: expect.any(Number),
        timedOut: false,
      })
      const { timeout: _, ...sent } = props
      expect(service.requests('/v1/commands').map((r) => r.body)).toEqual([{ ...sent, timeoutMs: 30_000 }])
    })

    it('fails a non-zero exit with OS_COMMAND_FAILED, not retried, keeping the end of each stream', async () => {
      const script =
        "process.stdout.write('x'.repeat(10000) + 'END'); process.stderr.write('boom\\n'); process.exit(3)"
      const run = await engine.runOnce(
        os('command', { command: NODE, args: ['-e', script] }, { retry: RETRY }),
        {},
      )
      const error = failure(run, 'OS_COMMAND_FAILED')
      expect(error.message).toBe(`${NODE} exited with code 3: boom`)
      expect(error.details).toMatchObject({ exitCode: 3, timedOut: false, stderr: 'boom\n' })
      expect(error.details?.stdout).toMatch(/^…x+END$/)
      expect(error.details?.stdout).toHaveLength(4_001)
      expect(stepOf(run, 'os').attempts).toBe(1)
      expect(service.requests('/v1/commands')).toHaveLength(1)
    })

    it('delivers a non-zero exit with failOnExitCode false', async () => {
      const props = { command: NODE, args: ['-e', 'process.exit(3)'], failOnExitCode: false }
      const run = await runOk(engine, os('command', props))
      expect(run.output).toMatchObject({ exitCode: 3, timedOut: false })
      expect(service.requests('/v1/commands')[0]?.body).not.toHaveProperty('failOnExitCode')
    })

    it('has the service end a program at its timeout, and fails the step saying so', async () => {
      const props = { command: NODE, args: ['-e', 'setTimeout(() => {}, 30000)'], timeout: 300 }
      const started = Date.now()
      const run = await engine.runOnce(os('command', props), {})
      expect(Date.now() - started).toBeLessThan(5_000)
      const error = failure(run, 'OS_COMMAND_FAILED')
      expect(error.message).toMatch(/was ended at its timeout \(exit code 143\)/)
      expect(error.details).toMatchObject({ exitCode: 143, timedOut: true })
      expect(service.requests('/v1/commands')[0]?.body).toMatchObject({ timeoutMs: 300 })
    })

    it('fails a program that does not exist with HTTP_404', async () => {
      const run = await engine.runOnce(os('command', { command: 'no-such-program-9f2' }), {})
      expect(serviceError(run, 'HTTP_404')).toMatchObject({ status: 404, serviceCode: 'NOT_FOUND' })
    })
  })

  describe('files', () => {
    it('reads a file as UTF-8 text, sending the step output limit as maxBytes', async () => {
      writeFileSync(inRoot('notes.txt'), 'héllo\n')
      const run = await runOk(engine, os('readFile', { path: 'notes.txt' }))
      expect(run.output).toEqual({ path: inRoot('notes.txt'), content: 'héllo\n', encoding: 'utf8', size: 7 })
      expect(service.requests('/v1/files/read')[0]?.body).toEqual({
        path: 'notes.txt',
        encoding: 'utf8',
        maxBytes: 4 * 1024 * 1024,
      })
    })

    it('reads a binary file as base64', async () => {
      writeFileSync(inRoot('bytes.bin'), Buffer.from([0, 255, 1]))
      const run = await runOk(engine, os('readFile', { path: inRoot('bytes.bin'), encoding: 'base64' }))
      expect(run.output).toMatchObject({ content: 'AP8B', encoding: 'base64', size: 3 })
    })

    it('writes a file, creating its folders, and the next step reads it back', async () => {
      const run = await runOk(
        engine,
        workflow('os-write-read', [
          step('write', 'os-integration.writeFile', {
            path: 'out/deep/report.txt',
            content: '{{ input.text }}',
            createDirs: true,
          }),
          step(
            'read',
            'os-integration.readFile',
            { path: '{{ steps.write.output.path }}' },
            { needs: ['write'] },
          ),
        ]),
        { text: 'all good' },
      )
      expect(stepOf(run, 'write').output).toEqual({ path: inRoot('out/deep/report.txt'), size: 8 })
      expect(run.output).toMatchObject({ content: 'all good', size: 8 })
      expect(readFileSync(inRoot('out/deep/report.txt'), 'utf8')).toBe('all good')
    })

    it('appends to a file and delivers its whole size', async () => {
      writeFileSync(inRoot('log.txt'), 'one\n')
      const run = await runOk(engine, os('writeFile', { path: 'log.txt', content: 'two\n', mode: 'append' }))
      expect(run.output).toEqual({ path: inRoot('log.txt'), size: 8 })
      expect(readFileSync(inRoot('log.txt'), 'utf8')).toBe('one\ntwo\n')
    })

    it('writes base64 content as bytes', async () => {
      await runOk(engine, os('writeFile', { path: 'bytes.out', content: 'AP8B', encoding: 'base64' }))
      expect([...readFileSync(inRoot('bytes.out'))]).toEqual([0, 255, 1])
    })

    it('fails mode create on a file that exists with HTTP_409, not retried, leaving the file alone', async () => {
      writeFileSync(inRoot('taken.txt'), 'first')
      const props = { path: 'taken.txt', content: 'second', mode: 'create' }
      const run = await engine.runOnce(os('writeFile', props, { retry: RETRY }), {})
      expect(serviceError(run, 'HTTP_409')).toMatchObject({ status: 409, serviceCode: 'EXISTS' })
      expect(stepOf(run, 'os').attempts).toBe(1)
      expect(readFileSync(inRoot('taken.txt'), 'utf8')).toBe('first')
    })

    it('fails a missing parent folder without createDirs with HTTP_404', async () => {
      const run = await engine.runOnce(os('writeFile', { path: 'nowhere/file.txt', content: 'x' }), {})
      expect(serviceError(run, 'HTTP_404')).toMatchObject({ serviceCode: 'NOT_FOUND' })
    })

    it('fails a read of a missing file with HTTP_404, not retried', async () => {
      const run = await engine.runOnce(os('readFile', { path: 'missing.txt' }, { retry: RETRY }), {})
      const error = serviceError(run, 'HTTP_404')
      expect(error).toMatchObject({ status: 404, serviceCode: 'NOT_FOUND' })
      expect(error.message).toMatch(/^OS Integration \(POST \/v1\/files\/read\) answered 404: /)
      expect(stepOf(run, 'os').attempts).toBe(1)
      expect(service.requests('/v1/files/read')).toHaveLength(1)
    })

    it.each([
      ['readFile', { path: '../escape.txt' }],
      ['readFile', { path: '/etc/hostname' }],
      ['writeFile', { path: '../escape-write.txt', content: 'x' }],
      ['listFolder', { path: '..' }],
    ])('refuses %s of a path outside the service folder with HTTP_403 (%j)', async (action, props) => {
      const run = await engine.runOnce(os(action, props), {})
      expect(serviceError(run, 'HTTP_403')).toMatchObject({ status: 403, serviceCode: 'FORBIDDEN' })
      expect(existsSync(join(service.root, '..', 'escape-write.txt'))).toBe(false)
    })

    it('fails a file over maxBytes with HTTP_413', async () => {
      writeFileSync(inRoot('big.txt'), 'x'.repeat(100))
      const run = await engine.runOnce(os('readFile', { path: 'big.txt', maxBytes: 10 }), {})
      expect(serviceError(run, 'HTTP_413')).toMatchObject({ serviceCode: 'TOO_LARGE' })
    })

    it('fails content that is not base64 with HTTP_422', async () => {
      const props = { path: 'bad.bin', content: 'not base64!', encoding: 'base64' }
      const run = await engine.runOnce(os('writeFile', props), {})
      expect(serviceError(run, 'HTTP_422')).toMatchObject({ serviceCode: 'INVALID_CONTENT' })
    })

    it('lists a folder, its sub-folders by pattern, and a limited list', async () => {
      mkdirSync(inRoot('tree/sub/deep'), { recursive: true })
      writeFileSync(inRoot('tree/a.log'), 'aaa')
      writeFileSync(inRoot('tree/b.txt'), 'b')
      writeFileSync(inRoot('tree/sub/c.log'), 'c')
      writeFileSync(inRoot('tree/sub/deep/d.log'), 'd')
      symlinkSync(inRoot('tree/a.log'), inRoot('tree/link'))
      const list = (id: string, props: Record<string, unknown>) =>
        step(id, 'os-integration.listFolder', { path: 'tree', ...props })
      const run = await runOk(
        engine,
        workflow('os-list', [
          list('flat', {}),
          list('logs', { recursive: true, pattern: '*.log' }),
          list('first', { recursive: true, limit: 2 }),
        ]),
      )
      type Listing = { path: string; entries: Record<string, unknown>[]; truncated: boolean }
      const { flat, logs, first } = run.output as Record<string, Listing>
      expect(flat?.path).toBe(inRoot('tree'))
      expect(flat?.entries).toEqual([
        { name: 'a.log', path: inRoot('tree/a.log'), type: 'file', size: 3, modifiedAt: expect.any(String) },
        { name: 'b.txt', path: inRoot('tree/b.txt'), type: 'file', size: 1, modifiedAt: expect.any(String) },
        { name: 'link', path: inRoot('tree/link'), type: 'symlink', size: 0, modifiedAt: expect.any(String) },
        { name: 'sub', path: inRoot('tree/sub'), type: 'directory', size: 0, modifiedAt: expect.any(String) },
      ])
      expect(new Date(flat?.entries[0]?.modifiedAt as string).toISOString()).toBe(
        flat?.entries[0]?.modifiedAt,
      )
      expect(flat?.truncated).toBe(false)
      expect(logs?.entries.map((e) => e.path)).toEqual([
        inRoot('tree/a.log'),
        inRoot('tree/sub/c.log'),
        inRoot('tree/sub/deep/d.log'),
      ])
      expect(first).toMatchObject({ truncated: true, entries: [{ name: 'a.log' }, { name: 'b.txt' }] })
      expect(first?.entries).toHaveLength(2)
    })

    it('fails listing a file with HTTP_422', async () => {
      writeFileSync(inRoot('plain.txt'), 'x')
      const run = await engine.runOnce(os('listFolder', { path: 'plain.txt' }), {})
      expect(serviceError(run, 'HTTP_422')).toMatchObject({ serviceCode: 'NOT_A_DIRECTORY' })
    })
  })

  describe('screenshot', () => {
    const pngSize = (data: Buffer) => ({
      signature: data.subarray(0, 8).toString('hex'),
      width: data.readUInt32BE(16),
      height: data.readUInt32BE(20),
    })

    it('captures the display as a base64 PNG', async () => {
      const run = await runOk(engine, os('screenshot', {}))
      const output = run.output as { data: string }
      expect(output).toMatchObject({ format: 'png', width: 8, height: 6 })
      expect(output).not.toHaveProperty('path')
      expect(pngSize(Buffer.from(output.data, 'base64'))).toEqual({
        signature: '89504e470d0a1a0a',
        width: 8,
        height: 6,
      })
      expect(service.requests('/v1/screenshots')[0]?.body).toEqual({ format: 'png' })
    })

    it('saves a region to a file on the service machine, answering its path and no data', async () => {
      mkdirSync(inRoot('shots'), { recursive: true })
      const props = { display: ':0', region: { x: 1, y: 2, width: 3, height: 2 }, saveTo: 'shots/s.png' }
      const run = await runOk(engine, os('screenshot', props))
      expect(run.output).toEqual({ format: 'png', width: 3, height: 2, path: inRoot('shots/s.png') })
      expect(pngSize(readFileSync(inRoot('shots/s.png')))).toMatchObject({ width: 3, height: 2 })
    })

    it.each([
      [{ format: 'jpeg' }, 'UNSUPPORTED_FORMAT'],
      [{ region: { x: 6, y: 0, width: 4, height: 1 } }, 'INVALID_REGION'],
    ])('fails %j with HTTP_422 %s', async (props, serviceCode) => {
      const run = await engine.runOnce(os('screenshot', props, { retry: RETRY }), {})
      expect(serviceError(run, 'HTTP_422')).toMatchObject({ serviceCode })
      expect(stepOf(run, 'os').attempts).toBe(1)
    })
  })

  describe('retries, timeouts and idempotency', () => {
    it('retries a 429 after the Retry-After the service sent, though the policy says 10ms', async () => {
      writeFileSync(inRoot('r.txt'), 'r')
      service.failNext(1, 429, 1)
      const run = await runOk(engine, os('readFile', { path: 'r.txt' }, { retry: RETRY }))
      expect(stepOf(run, 'os').attempts).toBe(2)
      const [first, second] = service.requests('/v1/files/read')
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(950)
    })

    it('retries 503s on the policy, sending the same bearer key and idempotency key every time', async () => {
      writeFileSync(inRoot('s.txt'), 's')
      service.failNext(2, 503)
      const run = await runOk(engine, os('readFile', { path: 's.txt' }, { retry: RETRY }))
      expect(stepOf(run, 'os').attempts).toBe(3)
      const seen = service.requests('/v1/files/read')
      expect(seen.map((r) => r.headers.authorization)).toEqual(Array(3).fill(`Bearer ${API_KEY}`))
      expect(seen.map((r) => r.headers['idempotency-key'])).toEqual(Array(3).fill(`${run.id}:os`))
      expect(seen[0]?.headers['content-type']).toBe('application/json')
    })

    it('fails with HTTP_503 once the attempts are spent', async () => {
      service.failNext(2, 503, 0)
      const run = await engine.runOnce(
        os('readFile', { path: 's.txt' }, { retry: { attempts: 2, delay: '10ms' } }),
        {},
      )
      expect(serviceError(run, 'HTTP_503')).toMatchObject({ status: 503, serviceCode: 'UNAVAILABLE' })
      expect(stepOf(run, 'os').attempts).toBe(2)
    })

    it('fails with TIMEOUT when the service answers after the step timeout', async () => {
      writeFileSync(inRoot('slow.txt'), 'slow')
      service.delayNext(3_000)
      const started = Date.now()
      const run = await engine.runOnce(os('readFile', { path: 'slow.txt' }, { timeout: '300ms' }), {})
      expect(Date.now() - started).toBeLessThan(2_500)
      expectFailed(run, 'os', 'TIMEOUT')
    })

    it('appends once when an attempt times out after the service did the work', async () => {
      // the first attempt gives up at 500 ms, the service finishes at 700 ms, the retry comes at ~900 ms
      service.delayNext(700)
      const props = { path: 'journal.txt', content: 'once\n', mode: 'append' }
      const run = await runOk(
        engine,
        os('writeFile', props, { timeout: '500ms', retry: { attempts: 2, delay: '400ms' } }),
      )
      expect(stepOf(run, 'os').attempts).toBe(2)
      expect(service.requests('/v1/files/write')).toHaveLength(2)
      expect(readFileSync(inRoot('journal.txt'), 'utf8')).toBe('once\n')
    })
  })

  describe('answers that break the contract', () => {
    it('drops fields the contract does not name', async () => {
      service.answerNext({ path: '/srv/a.txt', size: 3, checksum: 'c0ffee' })
      const run = await runOk(engine, os('writeFile', { path: 'a.txt', content: 'abc' }))
      expect(run.output).toEqual({ path: '/srv/a.txt', size: 3 })
    })

    it('fails a success body of the wrong shape with OS_INVALID_RESPONSE, not retried', async () => {
      service.answerNext({ exitCode: '0', stdout: '', stderr: '' })
      const run = await engine.runOnce(os('command', { command: 'true' }, { retry: RETRY }), {})
      const error = failure(run, 'OS_INVALID_RESPONSE')
      expect(error.message).toMatch(/exitCode/)
      expect(stepOf(run, 'os').attempts).toBe(1)
    })

    it('fails a screenshot answered without its data with OS_INVALID_RESPONSE', async () => {
      service.answerNext({ format: 'png', width: 8, height: 6 })
      const run = await engine.runOnce(os('screenshot', {}), {})
      expect(failure(run, 'OS_INVALID_RESPONSE').message).toMatch(/without data/)
    })
  })

  describe('auth and configuration', () => {
    it('fails with HTTP_401, not retried, when the service does not take the key', async () => {
      service.apiKey = 'a-rotated-key'
      const run = await engine.runOnce(os('readFile', { path: 'r.txt' }, { retry: RETRY }), {})
      expect(serviceError(run, 'HTTP_401')).toMatchObject({ serviceCode: 'UNAUTHORIZED' })
      expect(stepOf(run, 'os').attempts).toBe(1)
    })

    it('fails with NOT_CONFIGURED, sending nothing, when no base URL is configured', async () => {
      const bare = await Engine.open({
        databaseUrl: await freshDatabaseUrl(),
        threads: 1,
        credentials: { 'os-integration': { apiKey: API_KEY } },
      })
      try {
        const run = await bare.runOnce(os('readFile', { path: 'r.txt' }, { retry: RETRY }), {})
        const error = expectFailed(run, 'os', 'NOT_CONFIGURED')
        expect(error.message).toContain('services.osIntegration.baseUrl')
        expect(stepOf(run, 'os').attempts).toBe(1)
        expect(service.seen).toHaveLength(0)
      } finally {
        await bare.close()
      }
    })
  })

  describe('bad props', () => {
    it('rejects static props that break the schemas when the workflow is deployed', async () => {
      const definition = workflow('os-bad', [
        step('noCommand', 'os-integration.command', { args: ['x'] }),
        step('badTimeout', 'os-integration.command', { command: 'ls', timeout: 'soon' }),
        step('badEncoding', 'os-integration.readFile', { path: 'a', encoding: 'latin1' }),
        step('badMode', 'os-integration.writeFile', {
          path: 'a',
          content: '',
          mode: 'truncate',
          owner: 'me',
        }),
        step('badRegion', 'os-integration.screenshot', { region: { x: -1, y: 0, width: 1, height: 1 } }),
      ])
      const error = await engine.deploy(definition).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).problems.map((p) => p.path).sort()).toEqual([
        'steps[0].with.command',
        'steps[1].with.timeout',
        'steps[2].with.encoding',
        'steps[3].with.mode',
        'steps[3].with.owner',
        'steps[4].with.region.x',
      ])
      expect(service.seen).toHaveLength(0)
    })

    it('fails with INVALID_PROPS, sending nothing, when an expression resolves to a bad value', async () => {
      const props = { command: 'ls', timeout: '{{ input.timeout }}' }
      const run = await engine.runOnce(os('command', props, { retry: RETRY }), { timeout: 'soon' })
      expect(expectFailed(run, 'os', 'INVALID_PROPS').message).toMatch(/timeout/)
      expect(stepOf(run, 'os').attempts).toBe(1)
      expect(service.seen).toHaveLength(0)
    })
  })
})
