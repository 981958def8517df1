// The commands that drive a running server (workflows, start, runs), through the compiled bin
// against a real `piecework serve` with an API key, as an operator's shell would call them.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { BIN, childEnv, freePort, ServeProcess, serveEnv } from '../helpers/serve-process.js'

const exec = promisify(execFile)
const KEY = 'remote-cli-test-key'
const dir = mkdtempSync(join(tmpdir(), 'piecework-remote-'))
let server: ServeProcess

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** The bin against the test server (or `env` as given), in a folder holding the test's files. */
async function piecework(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const base = { PIECEWORK_SERVER_URL: server.url, PIECEWORK_API_KEY: KEY }
  try {
    const { stdout, stderr } = await exec('node', [BIN, ...args], {
      cwd: dir,
      env: childEnv({ ...base, ...env }),
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

const json = <T>(result: Result): T => {
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as T
}

function file(name: string, definition: unknown): string {
  writeFileSync(join(dir, name), stringify(definition))
  return name
}

const hello = (extra: Record<string, unknown> = {}) => ({
  id: 'hello',
  trigger: { uses: 'manual' },
  steps: [
    { id: 'greet', uses: 'data.set', with: { value: 'hello {{ input.name }}' } },
    {
      id: 'shout',
      uses: 'code.run',
      needs: ['greet'],
      with: { code: "console.log('shouting'); return input.toUpperCase()" },
    },
  ],
  ...extra,
})

beforeAll(async () => {
  const port = await freePort()
  server = new ServeProcess(port, {
    ...serveEnv(port, await freshDatabaseUrl()),
    PIECEWORK_AUTH_API_KEYS: KEY,
  })
  await server.start()
  file('hello.yaml', hello())
  file('fails.yaml', {
    id: 'fails',
    trigger: { uses: 'manual' },
    steps: [{ id: 'boom', uses: 'flow.fail', with: { code: 'NOPE', message: 'it fails' } }],
  })
  file('waits.yaml', {
    id: 'waits',
    trigger: { uses: 'manual' },
    steps: [{ id: 'approval', uses: 'flow.wait', with: { signal: 'go' } }],
    output: '{{ steps.approval.output }}',
  })
})

afterAll(async () => {
  await server?.stop()
})

describe(`piecework workflows (${TEST_DB})`, () => {
  it('deploys files: created, then unchanged, then a new version when a file changes', async () => {
    const first = await piecework(['workflows', 'deploy', 'hello.yaml', 'fails.yaml', 'waits.yaml'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/hello\.yaml\s+hello\s+1\s+created/)
    expect(first.stdout).toMatch(/waits\.yaml\s+waits\s+1\s+created/)
    expect((await piecework(['workflows', 'deploy', 'hello.yaml'])).stdout).toMatch(/hello\s+1\s+unchanged/)
    mkdirSync(join(dir, 'v2'), { recursive: true })
    file('v2/hello.yml', hello({ name: 'Hello' }))
    const outcomes = json<{ file: string; id: string; version: number; change: string }[]>(
      await piecework(['workflows', 'deploy', 'v2', '--output', 'json']),
    )
    expect(outcomes).toEqual([{ file: join('v2', 'hello.yml'), id: 'hello', version: 2, change: 'updated' }])
  })

  it('reports a file the server refuses, with every problem, and deploys the others (exit 2)', async () => {
    file('bad.yaml', { id: 'bad', trigger: { uses: 'manual' }, steps: [{ id: 'a', uses: 'flow.iff' }] })
    file('other.yaml', { ...hello(), id: 'other' })
    const result = await piecework(['workflows', 'deploy', 'bad.yaml', 'other.yaml'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('piecework: bad.yaml: VALIDATION:')
    expect(result.stderr).toMatch(/steps\[0\]\.uses: .*flow\.iff/)
    expect(result.stdout).toMatch(/other\.yaml\s+other\s+1\s+created/)
  })

  it('lists, shows (an older version too) and deletes workflows', async () => {
    const list = await piecework(['workflows', 'list'])
    expect(list.stdout).toMatch(/^ID\s+VERSION\s+TRIGGER\s+STATE\s+NAME\s+UPDATED$/m)
    expect(list.stdout).toMatch(/^hello\s+2\s+manual\s+active\s+Hello\s/m)
    const page = json<{ items: { id: string }[] }>(await piecework(['workflows', 'list', '-o', 'json']))
    expect(page.items.map((w) => w.id)).toEqual(expect.arrayContaining(['hello', 'fails', 'waits']))
    const shown = await piecework(['workflows', 'get', 'hello'])
    expect(shown.stdout, shown.stderr).toContain('hello (Hello): version 2, trigger manual, active')
    expect(shown.stdout).toMatch(/^shout\s+code\.run\s+greet$/m)
    const v1 = json<{ version: number; definition: { name?: string } }>(
      await piecework(['workflows', 'get', 'hello', '--version', '1', '-o', 'json']),
    )
    expect(v1.version).toBe(1)
    expect(v1.definition.name).toBeUndefined()
    expect(await piecework(['workflows', 'delete', 'other'])).toMatchObject({
      code: 0,
      stdout: 'deleted other\n',
    })
    const gone = await piecework(['workflows', 'get', 'other'])
    expect(gone).toMatchObject({ code: 2, stdout: '' })
    expect(gone.stderr).toMatch(/^piecework: NOT_FOUND: .*other/)
  })
})

describe(`piecework workflows pause and resume (${TEST_DB})`, () => {
  it('pauses a workflow (its starts answer 409, exit 2) and resumes it', async () => {
    file('pausable.yaml', { ...hello(), id: 'pausable' })
    expect((await piecework(['workflows', 'deploy', 'pausable.yaml'])).code).toBe(0)
    expect((await piecework(['workflows', 'pause', 'pausable'])).stdout).toMatch(
      /^pausable: paused since \S+ \S+Z\n$/,
    )
    expect((await piecework(['workflows', 'list'])).stdout).toMatch(/^pausable\s+1\s+manual\s+paused\s/m)
    const refused = await piecework(['start', 'pausable'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^piecework: CONFLICT: workflow 'pausable' is paused/)
    const resumed = json<{ paused: boolean }>(
      await piecework(['workflows', 'resume', 'pausable', '-o', 'json']),
    )
    expect(resumed.paused).toBe(false)
    expect((await piecework(['start', 'pausable', '--wait', '10s'])).code).toBe(0)
  })
})

describe(`piecework start and runs (${TEST_DB})`, () => {
  it('starts a run and waits for it: the run shown, exit 0; a failed one exits 1', async () => {
    const ok = await piecework(['start', 'hello', '--input', '{"name":"Ada"}', '--wait', '10s'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/^run [0-9a-f-]{36}: succeeded \(workflow hello v2/)
    expect(ok.stdout).toContain('output: HELLO ADA')
    const failed = await piecework(['start', 'fails', '--wait', '10s', '-o', 'json'])
    expect(failed.code).toBe(1)
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed', error: { code: 'NOPE' } })
  })

  it('exits 1 when the run has not ended within --wait, saying so on stderr', async () => {
    const result = await piecework(['start', 'waits', '--wait', '300ms'])
    expect(result.code).toBe(1)
    const id = /^run (\S+): (running|waiting|queued)$/m.exec(result.stdout)?.[1]
    expect(id, result.stdout).toBeDefined()
    expect(result.stderr).toMatch(
      /^piecework: run \S+ has not ended within --wait \((running|waiting|queued)\)\n$/,
    )
    expect((await piecework(['runs', 'get', id!, '--wait', '200ms'])).code).toBe(1)
    await piecework(['runs', 'cancel', id!])
  })

  it('starts a run quietly (its id alone) and follows its logs to the end', async () => {
    writeFileSync(join(dir, 'input.json'), '{"name":"Grace"}')
    const started = await piecework(['start', 'hello', '--input', '@input.json', '-q'])
    const id = started.stdout.trim()
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const logs = await piecework(['runs', 'logs', id, '--follow'])
    expect(logs.code, logs.stderr).toBe(0)
    expect(logs.stdout).toMatch(/^\S+Z info\s+\[shout\] shouting$/m)
    expect(logs.stdout).toContain(`run ${id}: succeeded`)
    const lines = (await piecework(['runs', 'logs', id, '-o', 'json'])).stdout.trim().split('\n')
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ stepId: 'shout', msg: 'shouting' }),
    ])
  })

  it('follows the lines of a run as they come, in order, until it ends', async () => {
    file('slow.yaml', {
      id: 'slow',
      trigger: { uses: 'manual' },
      steps: [
        { id: 'first', uses: 'code.run', with: { code: "console.log('first'); return 1" } },
        { id: 'pause', uses: 'flow.delay', needs: ['first'], with: { for: '1500ms' } },
        {
          id: 'second',
          uses: 'code.run',
          needs: ['pause'],
          with: { code: "console.warn('second'); return 2" },
        },
      ],
    })
    expect((await piecework(['workflows', 'deploy', 'slow.yaml'])).code).toBe(0)
    const id = (await piecework(['start', 'slow', '-q'])).stdout.trim()
    const followed = await piecework(['runs', 'logs', id, '--follow', '-o', 'json'])
    expect(followed.code, followed.stderr).toBe(0)
    const lines = followed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => [l.stepId, l.level, l.msg])).toEqual([
      ['first', 'info', 'first'],
      ['second', 'warn', 'second'],
    ])
    expect(lines[0]).toEqual({
      ts: expect.any(String),
      level: 'info',
      stepId: 'first',
      msg: 'first',
      data: null,
    })
  })

  it('follows a run from its start: start --follow exits as the run ended', async () => {
    const result = await piecework(['start', 'fails', '--follow'])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/run [0-9a-f-]{36}: failed/)
  })

  it('lists runs, newest first, by workflow and status, a page at a time', async () => {
    const table = await piecework(['runs', 'list', '--workflow', 'hello'])
    expect(table.stdout).toMatch(/^ID\s+WORKFLOW\s+VERSION\s+STATUS\s+CREATED\s+TOOK$/m)
    expect(table.stdout).not.toContain('fails')
    const failed = json<{ items: { workflowId: string; status: string }[] }>(
      await piecework(['runs', 'list', '--status', 'failed', '-o', 'json']),
    )
    expect(failed.items.length).toBeGreaterThan(0)
    expect(failed.items.every((r) => r.workflowId === 'fails' && r.status === 'failed')).toBe(true)
    const first = await piecework(['runs', 'list', '--limit', '1'])
    const cursor = /more: --cursor (\S+)/.exec(first.stderr)?.[1]
    expect(cursor).toBeDefined()
    const second = json<{ items: unknown[] }>(
      await piecework(['runs', 'list', '--limit', '1', '--cursor', cursor!, '-o', 'json']),
    )
    expect(second.items).toHaveLength(1)
  })

  it('signals a waiting run, which then ends with the data', async () => {
    const id = (await piecework(['start', 'waits', '-q'])).stdout.trim()
    await expect
      .poll(async () => (await piecework(['runs', 'get', id])).stdout, { timeout: 10_000 })
      .toMatch(/approval\s+waiting for go/)
    const sent = await piecework(['runs', 'signal', id, 'go', '--data', '{"approved":true}'])
    expect(sent).toMatchObject({ code: 0, stdout: 'signal go: taken by step approval\n' })
    const run = await piecework(['runs', 'get', id, '--wait', '10s', '-o', 'json'])
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'succeeded', output: { approved: true } })
  })

  it('cancels a run that waits, and retries a failed one', async () => {
    const id = (await piecework(['start', 'waits', '-q'])).stdout.trim()
    expect(await piecework(['runs', 'cancel', id])).toMatchObject({
      code: 0,
      stdout: `run ${id}: cancelled\n`,
    })
    const again = await piecework(['runs', 'cancel', id])
    expect(again.code).toBe(2)
    expect(again.stderr).toBe(`piecework: CONFLICT: run ${id} has already cancelled\n`)
    const failed = JSON.parse((await piecework(['start', 'fails', '--wait', '10s', '-o', 'json'])).stdout)
    const retried = json<{ id: string; status: string }>(
      await piecework(['runs', 'retry', failed.id, '-o', 'json']),
    )
    expect(retried).toEqual({ id: failed.id, status: 'running' })
  })
})

describe('piecework remote commands: mistakes and failures are one clear line', () => {
  it('exits 2 naming the key when PIECEWORK_API_KEY is missing or wrong', async () => {
    const missing = await piecework(['workflows', 'list'], { PIECEWORK_API_KEY: '' })
    expect(missing).toMatchObject({ code: 2, stdout: '' })
    expect(missing.stderr).toMatch(/^piecework: UNAUTHORIZED: .*\(set PIECEWORK_API_KEY\)\n$/)
    const wrong = await piecework(['runs', 'list'], { PIECEWORK_API_KEY: 'nope' })
    expect(wrong.stderr).toBe('piecework: UNAUTHORIZED: the API key is not valid (check PIECEWORK_API_KEY)\n')
  })

  it('exits 1 when the server cannot be reached, and 2 for a server that is not a URL', async () => {
    const port = await freePort()
    const away = await piecework(['runs', 'list', '--server', `http://127.0.0.1:${port}`])
    expect(away).toMatchObject({ code: 1, stdout: '' })
    expect(away.stderr).toBe(
      `piecework: cannot reach the server at http://127.0.0.1:${port} (ECONNREFUSED)\n`,
    )
    const bad = await piecework(['workflows', 'list'], { PIECEWORK_SERVER_URL: 'not a url' })
    expect(bad).toMatchObject({ code: 2 })
    expect(bad.stderr).toContain("piecework: --server 'not a url' is not a URL")
  })

  it('exits 2 for an unknown run, input that is not JSON and an unknown workflow', async () => {
    expect((await piecework(['runs', 'get', 'nosuch'])).stderr).toBe(
      "piecework: NOT_FOUND: run 'nosuch' does not exist\n",
    )
    const input = await piecework(['start', 'hello', '--input', '{nope'])
    expect(input.code).toBe(2)
    expect(input.stderr).toMatch(/^piecework: --input is not JSON: /)
    expect((await piecework(['start', 'nosuch'])).code).toBe(2)
  })
})

describe('piecework help, version and suggestions', () => {
  it('prints help for every command with -h, --help and help COMMAND (exit 0)', async () => {
    for (const args of [
      ['--help'],
      ['-h'],
      ['help'],
      ['help', 'runs'],
      ['run', '--help'],
      ['runs', 'logs', '-h'],
    ]) {
      const result = await piecework(args)
      expect(result.code, args.join(' ')).toBe(0)
      expect(result.stdout, args.join(' ')).toMatch(/^Usage: piecework/)
    }
    expect((await piecework(['runs', 'logs', '--help'])).stdout).toContain('--follow')
    expect((await piecework(['start', '--help'])).stdout).toContain('PIECEWORK_SERVER_URL')
  })

  it('prints the version with --version and -v', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default
    expect(await piecework(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` })
    expect((await piecework(['-v'])).stdout).toBe(`${version}\n`)
  })

  it('suggests the command meant, and exits 2 on a usage mistake', async () => {
    const typo = await piecework(['wrokflows', 'list'])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toBe(
      "piecework: unknown command 'wrokflows' (did you mean workflows?); see piecework help\n",
    )
    expect((await piecework(['runs', 'lgs'])).stderr).toContain('(did you mean logs?)')
    expect((await piecework(['runs', 'list', '--stauts', 'failed'])).stderr).toContain(
      '(did you mean --status?)',
    )
    const alone = await piecework([])
    expect(alone.code).toBe(2)
    expect(alone.stderr).toMatch(/^Usage: piecework/)
    expect((await piecework(['runs', 'list', '--status', 'done'])).code).toBe(2)
  })
})
