// Hostile `code.run` code against a real engine: each attack fails only its own step with the right
// code, never reaches the host, and leaves the pool healthy for the runs that follow.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/runtime/engine.js'
import type { RunView } from '../../src/store/runs.js'
import { ROOT } from '../helpers/cases.js'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { codeWorkflow, expectFailed, runOk, step, stepOf, workflow } from './workflows.js'

let engine: Engine

beforeAll(async () => {
  engine = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 2, memoryLimitMb: 64 })
})

afterAll(async () => {
  await engine?.close()
})

/** What a clean realm looks like from inside a compartment; busy for a moment so both workers serve. */
const PROBE = `
  const until = Date.now() + 40
  while (Date.now() < until) {}
  const list = []
  list.push(input.a, input.b)
  return {
    sum: list[0] + list[1],
    pushed: list.length,
    polluted: ({}).polluted !== undefined || Object.prototype.hasOwnProperty('polluted'),
    leaked: typeof leaked,
    process: typeof process,
    random: typeof Math.random(),
    now: typeof Date.now(),
  }
`

const CLEAN = {
  sum: 3,
  pushed: 2,
  polluted: false,
  leaked: 'undefined',
  process: 'undefined',
  random: 'number',
  now: 'number',
}

/** A normal run right after a hostile one: two steps at once, so that every worker of the pool serves. */
async function expectHealthy(target: Engine = engine): Promise<void> {
  const run = await runOk(
    target,
    workflow('healthy', [
      step('left', 'code.run', { code: PROBE }),
      step('right', 'code.run', { code: PROBE }),
    ]),
    { a: 1, b: 2 },
  )
  expect(run.output).toEqual({ left: CLEAN, right: CLEAN })
}

/** Either the step failed with CODE or the code ran and found nothing: never a reached host. */
function expectContained(run: RunView): void {
  if (run.status === 'failed') expectFailed(run, 'code', 'CODE')
  else expect(run).toMatchObject({ status: 'succeeded', output: { reached: false } })
}

describe(`code.run against hostile code (${TEST_DB})`, () => {
  it('stops an endless loop at its timeout with TIMEOUT, and the pool serves the next run', async () => {
    const started = Date.now()
    const run = await engine.runOnce(codeWorkflow('while (true) {}', { timeout: '500ms' }), {})
    expectFailed(run, 'code', 'TIMEOUT')
    expect(Date.now() - started).toBeLessThan(5_000)
    await expectHealthy()
  })

  it('stops a promise that never settles at its timeout', async () => {
    const run = await engine.runOnce(codeWorkflow('await new Promise(() => {})', { timeout: '300ms' }), {})
    expectFailed(run, 'code', 'TIMEOUT')
    await expectHealthy()
  })

  it('stops an endless loop hidden in the output’s toJSON at the timeout', async () => {
    const run = await engine.runOnce(
      codeWorkflow('return { toJSON() { while (true) {} } }', { timeout: '500ms' }),
      {},
    )
    expectFailed(run, 'code', 'TIMEOUT')
    await expectHealthy()
  })

  it('fails a memory bomb with MEMORY, and the replaced worker serves the next run', async () => {
    const code = `
      const hoard = []
      while (true) hoard.push({ i: hoard.length, s: 'item ' + hoard.length, list: [hoard.length] })
    `
    const started = Date.now()
    const run = await engine.runOnce(codeWorkflow(code, { timeout: '50s' }), {})
    const error = expectFailed(run, 'code', 'MEMORY')
    expect(error.message).toMatch(/memory/i)
    console.log(`memory bomb stopped after ${Date.now() - started} ms`)
    await expectHealthy()
  })

  describe('prototype pollution', () => {
    const attacks: [string, string][] = [
      ['Object.prototype.polluted = 1', 'Object.prototype.polluted = 1; return 1'],
      ['Array.prototype.push = …', 'Array.prototype.push = function () { return 42 }; return 1'],
      [
        'defineProperty on Object.prototype',
        "Object.defineProperty(Object.prototype, 'polluted', { value: 1 }); return 1",
      ],
      ['__proto__ of a literal', '({}).__proto__.polluted = 1; return 1'],
      ['Date.now = …', 'Date.now = () => 0; return 1'],
      ['Math.random = …', 'Math.random = () => 0; return 1'],
      ['JSON.stringify = …', 'JSON.stringify = () => "{}"; return 1'],
      ['console.log = …', 'console.log = () => {}; return 1'],
      ['writing to input', 'input.injected = 1; return 1'],
    ]
    for (const [name, code] of attacks) {
      it(`fails ${name} with CODE and a later run sees no pollution`, async () => {
        const run = await engine.runOnce(codeWorkflow(code), { a: 1 })
        const error = expectFailed(run, 'code', 'CODE')
        expect(error.message).toMatch(/not extensible|read only/)
        await expectHealthy()
      })
    }

    it('keeps a new global in its own run: the next run does not see it', async () => {
      const first = await runOk(engine, codeWorkflow('globalThis.leaked = 1; return typeof leaked'))
      expect(first.output).toBe('number')
      await expectHealthy()
    })
  })

  describe('escapes to the host', () => {
    const reached = `
      const reached = (p) =>
        typeof p === 'object' && p !== null &&
        (typeof p.pid === 'number' || typeof p.exit === 'function' || typeof p.binding === 'function')
    `
    const escapes: [string, string][] = [
      [
        'the Function constructor',
        "return { reached: reached((function () {}).constructor('return process')()) }",
      ],
      [
        'this.constructor.constructor',
        "return { reached: reached(this.constructor.constructor('return process')()) }",
      ],
      [
        'globalThis.constructor.constructor',
        "return { reached: reached(globalThis.constructor.constructor('return process')()) }",
      ],
      [
        'the AsyncFunction constructor',
        'const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor\n' +
          "return { reached: reached(await AsyncFunction('return process')()) }",
      ],
      [
        'the GeneratorFunction constructor',
        'const G = Object.getPrototypeOf(function* () {}).constructor\n' +
          "return { reached: reached(G('yield process')().next().value) }",
      ],
      ['globalThis.process', 'return { reached: reached(globalThis.process) }'],
      ['the process identifier', 'return { reached: reached(process) }'],
      ['require', "return { reached: typeof require('fs').readFileSync === 'function' }"],
      [
        'import() of fs',
        "const fs = await import('fs')\nreturn { reached: typeof fs.readFileSync === 'function' }",
      ],
      [
        'import() with a comment',
        "const fs = await import/**/('fs')\nreturn { reached: typeof fs.readFileSync === 'function' }",
      ],
      ['import() built inside eval', "return { reached: reached(await eval('imp' + 'ort(\"process\")')) }"],
      ['direct eval', "return { reached: reached(eval('process')) }"],
      ['indirect eval of this', "return { reached: reached((0, eval)('this').process) }"],
      [
        'a host function’s constructor (console.log)',
        "return { reached: reached(console.log.constructor('return process')()) }",
      ],
      ['the endowed Date’s constructor', "return { reached: reached(Date.constructor('return process')()) }"],
      [
        'the input’s constructor chain',
        "return { reached: reached(input.constructor.constructor('return process')()) }",
      ],
      [
        'a host error’s constructor chain',
        "try { null.x } catch (e) { return { reached: reached(e.constructor.constructor('return process')()) } }",
      ],
      [
        'Error.prepareStackTrace call sites',
        `let frames = []
         try { Error.prepareStackTrace = (e, sites) => { frames = sites; return 'x' } } catch {}
         const probe = new Error('probe')
         void probe.stack
         const found = []
         for (const f of frames) {
           for (const m of ['getThis', 'getFunction']) {
             try { found.push(f[m]()) } catch {}
           }
         }
         return { reached: found.some((v) => reached(v) || (v && reached(v.process))) }`,
      ],
      ['the caller chain', 'function f () { return f.caller } \n return { reached: reached(f()) }'],
      ['arguments.callee.caller', 'return { reached: reached(arguments.callee.caller) }'],
    ]
    for (const [name, code] of escapes) {
      it(`never reaches process through ${name}`, async () => {
        const run = await engine.runOnce(codeWorkflow(`${reached}\n${code}`), { a: 1 })
        expectContained(run)
        await expectHealthy()
      })
    }
  })

  describe('what code may use', () => {
    it('sends console lines to the run’s logs, with their levels', async () => {
      const code = `
        console.log('hello from code', { n: 1 }, [2, 3])
        console.info('info line')
        console.warn('careful')
        console.error(new Error('boom'))
        return 'logged'
      `
      const run = await runOk(engine, codeWorkflow(code))
      const rows: { step_id: string | null; level: string; msg: string }[] = await engine.db
        .knex('run_logs')
        .where({ run_id: run.id })
        .orderBy('id')
      const lines = rows.filter((r) => r.step_id === 'code').map((r) => ({ level: r.level, msg: r.msg }))
      expect(lines).toEqual([
        { level: 'info', msg: 'hello from code {"n":1} [2,3]' },
        { level: 'info', msg: 'info line' },
        { level: 'warn', msg: 'careful' },
        { level: 'error', msg: 'Error: boom' },
      ])
    })

    it('keeps console lines written before the code throws', async () => {
      const run = await engine.runOnce(
        codeWorkflow("console.log('before the throw'); throw new Error('late')"),
        {},
      )
      expect(expectFailed(run, 'code', 'CODE').message).toBe('late')
      const rows: { msg: string }[] = await engine.db
        .knex('run_logs')
        .where({ run_id: run.id, step_id: 'code' })
        .orderBy('id')
      expect(rows.map((r) => r.msg)).toContain('before the throw')
    })

    it('gives a working Date.now(), new Date() and Math.random()', async () => {
      const before = Date.now()
      const run = await runOk(
        engine,
        codeWorkflow(`
          const a = Math.random(), b = Math.random()
          return { now: Date.now(), iso: new Date().toISOString(), a, b, max: Math.max(1, 7, 3) }
        `),
      )
      const after = Date.now()
      const out = run.output as { now: number; iso: string; a: number; b: number; max: number }
      expect(out.now).toBeGreaterThanOrEqual(before)
      expect(out.now).toBeLessThanOrEqual(after)
      expect(Date.parse(out.iso)).toBeGreaterThanOrEqual(before - 1)
      for (const r of [out.a, out.b]) {
        expect(r).toBeGreaterThanOrEqual(0)
        expect(r).toBeLessThan(1)
      }
      expect(out.a).not.toBe(out.b)
      expect(out.max).toBe(7)
    })

    it('sees its input, the run id and the attempt number', async () => {
      const run = await runOk(engine, codeWorkflow('return { input, runId: run.id, attempt }'), { x: [1, 2] })
      expect(run.output).toEqual({ input: { x: [1, 2] }, runId: run.id, attempt: 1 })
    })
  })

  describe('hostile throws and outputs', () => {
    it('fails a throw whose message getter throws with CODE', async () => {
      const run = await engine.runOnce(
        codeWorkflow("throw { get message () { throw new Error('gotcha') } }"),
        {},
      )
      expect(expectFailed(run, 'code', 'CODE').message).toMatch(/cannot be described/)
      await expectHealthy()
    })

    it('fails a thrown non-error with CODE and its text', async () => {
      const run = await engine.runOnce(codeWorkflow("throw 'plain text'"), {})
      expect(expectFailed(run, 'code', 'CODE').message).toBe('plain text')
    })

    it('fails code that does not compile with CODE', async () => {
      const run = await engine.runOnce(codeWorkflow('return {'), {})
      expect(expectFailed(run, 'code', 'CODE').message).toMatch(/compile/)
      await expectHealthy()
    })

    it('fails an output that is not JSON (a cycle) without killing the worker', async () => {
      const run = await engine.runOnce(codeWorkflow('const a = {}; a.self = a; return a'), {})
      expectFailed(run, 'code', 'OUTPUT_INVALID')
      await expectHealthy()
    })

    it('fails an output whose toJSON throws', async () => {
      const run = await engine.runOnce(codeWorkflow("return { toJSON () { throw new Error('nope') } }"), {})
      expectFailed(run, 'code', 'OUTPUT_INVALID')
      await expectHealthy()
    })
  })

  it('fails only the hostile step: a parallel sibling still delivers with onError continue', async () => {
    const run = await engine.runOnce(
      workflow('sibling', [
        step('bad', 'code.run', { code: 'while (true) {}' }, { timeout: '300ms', onError: 'continue' }),
        step('good', 'code.run', { code: 'return input.a + input.b' }),
        step('after', 'flow.merge', {}, { needs: ['bad', 'good'] }),
      ]),
      { a: 1, b: 2 },
    )
    expect(run.status).toBe('succeeded')
    expect(stepOf(run, 'bad')).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } })
    expect(run.output).toMatchObject({ bad: { error: { code: 'TIMEOUT' } }, good: 3 })
    await expectHealthy()
  })
})

describe(`code.run output limit (${TEST_DB})`, () => {
  let small: Engine

  beforeAll(async () => {
    small = await Engine.open({ databaseUrl: await freshDatabaseUrl(), threads: 2, maxOutputBytes: 1024 })
  })

  afterAll(async () => {
    await small?.close()
  })

  it('fails an output over maxOutputBytes with OUTPUT_TOO_LARGE', async () => {
    const run = await small.runOnce(codeWorkflow("return 'x'.repeat(5000)"), {})
    expect(expectFailed(run, 'code', 'OUTPUT_TOO_LARGE').message).toMatch(/1024/)
    await expectHealthy(small)
  })

  it('counts bytes, not characters', async () => {
    // 600 characters of two bytes each: under the limit in characters, over it in bytes
    const run = await small.runOnce(codeWorkflow("return 'é'.repeat(600)"), {})
    expectFailed(run, 'code', 'OUTPUT_TOO_LARGE')
    const ok = await runOk(small, codeWorkflow("return 'x'.repeat(600)"))
    expect(ok.output).toBe('x'.repeat(600))
  })

  it('applies the limit to other pieces too (data.set)', async () => {
    const run = await small.runOnce(
      workflow('big-set', [step('code', 'data.set', { value: "{{ $pad('', 4000, 'y') }}" })]),
      {},
    )
    expectFailed(run, 'code', 'OUTPUT_TOO_LARGE')
    await expectHealthy(small)
  })
})

/** Runs `code` in an engine of its own process, so that an attack that aborts the process is seen, not suffered. */
const CHILD = `
  const { Engine } = await import(process.env.PW_ENGINE)
  const engine = await Engine.open({ databaseUrl: process.env.PW_DB, threads: 1, memoryLimitMb: Number(process.env.PW_MB) })
  const step = (id, code, timeout) => ({ id, uses: 'code.run', timeout, with: { code } })
  const bomb = await engine.runOnce({ id: 'bomb', trigger: { uses: 'manual' }, steps: [step('code', process.env.PW_CODE, '50s')] }, {})
  const after = await engine.runOnce({ id: 'after', trigger: { uses: 'manual' }, steps: [step('ok', 'return 42')] }, {})
  process.stdout.write(JSON.stringify({ status: bomb.status, error: bomb.error, after: after.output }))
  await engine.close()
`

interface ChildOutcome {
  exitCode: number | null
  signal: string | null
  stderr: string
  result?: { status: string; error: { code: string } | null; after: unknown }
}

async function runInOwnProcess(code: string, memoryLimitMb: number): Promise<ChildOutcome> {
  const env = {
    ...process.env,
    PW_ENGINE: pathToFileURL(join(ROOT, 'dist/src/runtime/engine.js')).href,
    PW_DB: await freshDatabaseUrl(),
    PW_MB: String(memoryLimitMb),
    PW_CODE: code,
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD],
      { env, timeout: 55_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; signal?: string }) | null
        resolve({
          exitCode: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
          signal: failure?.signal ?? null,
          stderr: stderr
            .split('\n')
            .filter((l) => /FATAL|Error/.test(l))
            .slice(0, 3)
            .join('\n'),
          result: stdout ? JSON.parse(stdout) : undefined,
        })
      },
    )
  })
}

describe(`memory limits, each in an engine process of its own (${TEST_DB})`, () => {
  // Each of these once aborted the whole engine process (V8 gives up on an allocation that jumps
  // past a worker's heap limit; ArrayBuffers are outside `resourceLimits`): now only a sandbox
  // process dies, or stops itself at its memory limit (docs/sandbox.md).
  const bombs: [string, string, number][] = [
    ['one array of numbers growing without end', 'const a = []; while (true) a.push(0)', 256],
    ['one array of numbers growing without end', 'const a = []; while (true) a.push(0)', 64],
    ['the same at 128 MB', 'const a = []; while (true) a.push(0)', 128],
    [
      '3 GB of typed arrays',
      'const keep = []; for (let i = 0; i < 48; i++) { const b = new Uint8Array(64 * 1024 * 1024); b.fill(1); keep.push(b) } return keep.length',
      64,
    ],
  ]
  for (const [name, code, limit] of bombs) {
    it(`fails ${name} with MEMORY on a ${limit} MB engine, and the engine goes on`, async () => {
      const outcome = await runInOwnProcess(code, limit)
      expect(outcome, `the engine process died: ${outcome.stderr}`).toMatchObject({
        exitCode: 0,
        signal: null,
      })
      expect(outcome.result).toEqual({
        status: 'failed',
        error: expect.objectContaining({ code: 'MEMORY', stepId: 'code' }),
        after: 42,
      })
    })
  }
})
