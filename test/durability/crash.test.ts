// The crash test: `piecework serve` is SIGKILLed at random moments while runs flow through it, and
// started again on the same database each time. Every accepted run must end `succeeded`, and a side
// effect may happen twice only for a step that was running at a kill, never for one whose result
// was durable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshDatabaseUrl, TEST_DB } from '../helpers/db.js'
import { freePort, killTestEnv, ServeProcess, sleep } from '../helpers/serve-process.js'
import { SideEffectServer } from './side-effect-server.js'
import { type Snapshot, snapshot } from './snapshot.js'
import { type CrashWorkflow, chainWorkflow, fanoutWorkflow } from './workflows.js'

const RUNS = 240
const MIN_KILLS = 6
const MAX_KILLS = 15
/** Worker threads, each running one step at a time: the most steps under way at a kill. */
const THREADS = 2
const SETTLE_MS = 120_000
const UNFINISHED = ['queued', 'running', 'waiting'] as const

interface Accepted {
  id: string
  n: number
  workflow: CrashWorkflow
}

interface StepView {
  id: string
  status: string
  attempts: number
  output: { status?: number; body?: { key?: string; call?: number } } | null
}

interface RunView {
  id: string
  status: string
  error: unknown
  output: unknown
  steps: StepView[]
}

/** Starts runs over HTTP at a steady pace while the server serves; a refused start is not accepted. */
class Loader {
  readonly accepted: Accepted[] = []
  readonly unexpected: string[] = []
  refused = 0
  private next = 0

  constructor(
    private readonly serve: ServeProcess,
    private readonly workflows: CrashWorkflow[],
  ) {}

  async run(target: number): Promise<void> {
    while (this.accepted.length < target) {
      if (!this.serve.serving) {
        await sleep(50)
        continue
      }
      await Promise.all([0, 1, 2, 3].map(() => this.startOne()))
      await sleep(80)
    }
  }

  private async startOne(): Promise<void> {
    const n = this.next++
    const workflow = this.workflows[n % this.workflows.length]!
    const input = { n, delayMs: 100 + Math.floor(Math.random() * 1400) }
    try {
      const res = await this.serve.request(`/api/v1/workflows/${workflow.definition.id}/runs`, {
        json: { input },
      })
      const text = await res.text()
      if (res.status === 202) this.accepted.push({ id: (JSON.parse(text) as { id: string }).id, n, workflow })
      else this.unexpected.push(`${res.status} ${text}`)
    } catch {
      this.refused++ // the process died under the request, or is not listening yet
    }
  }
}

/** Runs that have not ended, as `id status` lines. */
async function unfinishedRuns(serve: ServeProcess): Promise<string[]> {
  const left: string[] = []
  for (const status of UNFINISHED) {
    const page = await serve.json<{ items: { id: string }[] }>(`/api/v1/runs?status=${status}&limit=500`)
    left.push(...page.items.map((r) => `${r.id} ${status}`))
  }
  return left
}

/** Waits until every run has ended, or `ms`; returns what is still unfinished. */
async function settle(serve: ServeProcess, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms
  let left = await unfinishedRuns(serve)
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(500)
    if (!serve.running) throw new Error(`piecework serve died by itself:\n${serve.output().slice(-8000)}`)
    left = await unfinishedRuns(serve)
  }
  return left
}

async function readRuns(serve: ServeProcess, ids: string[]): Promise<Map<string, RunView | string>> {
  const runs = new Map<string, RunView | string>()
  const queue = [...ids]
  const reader = async () => {
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      const res = await serve.request(`/api/v1/runs/${id}`)
      runs.set(id, res.status === 200 ? ((await res.json()) as RunView) : `HTTP ${res.status}`)
    }
  }
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(reader))
  return runs
}

/**
 * Checks each repeated side effect against the kills. A repeat is explained only by a kill at which
 * the step was checkpointed `running`; it is "in flight" when the earlier call was still unanswered
 * at the kill (a worker was inside the step), else its answer was waiting for its checkpoint.
 */
function judgeEffects(effects: SideEffectServer, snapshots: Snapshot[], killedAt: number[]) {
  const problems: string[] = []
  const inFlight = snapshots.map(() => 0)
  const unsaved = snapshots.map(() => 0)
  /** For answered-but-unsaved repeats: how long before the kill the answer had gone out. */
  const waits: number[] = []
  let reexecuted = 0
  for (const key of effects.keys()) {
    const calls = effects.callsFor(key)
    if (calls.length > 1) reexecuted++
    for (let i = 1; i < calls.length; i++) {
      const before = calls[i - 1]!
      const after = calls[i]!
      const kill = before.gen
      if (after.gen <= kill) {
        problems.push(`${key}: calls ${i} and ${i + 1} both came from process #${kill + 1}`)
      } else if (!snapshots[kill]?.running.has(key)) {
        problems.push(`${key}: called again after kill ${kill + 1} but was not running at it`)
      } else if (before.answeredAt === undefined || before.answeredAt >= killedAt[kill]!) {
        inFlight[kill]! += 1
      } else {
        unsaved[kill]! += 1
        waits.push(killedAt[kill]! - before.answeredAt)
      }
    }
  }
  snapshots.forEach((snap, k) => {
    for (const key of snap.succeeded) {
      const late = effects.callsFor(key).filter((c) => c.gen > k)
      if (late.length > 0)
        problems.push(`${key}: succeeded before kill ${k + 1}, yet called ${late.length} more time(s)`)
    }
  })
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  return {
    problems,
    reexecuted,
    inFlight,
    unsaved,
    extraCalls: sum(inFlight) + sum(unsaved),
    inFlightCalls: sum(inFlight),
    waits: waits.sort((a, b) => a - b),
  }
}

function callsPerProcess(effects: SideEffectServer, kills: number): number[] {
  const counts = Array.from({ length: kills + 1 }, () => 0)
  for (const call of effects.calls) counts[call.gen]! += 1
  return counts
}

/** Every accepted run succeeded, and each http step kept the answer of its last call. */
function judgeRuns(accepted: Accepted[], runs: Map<string, RunView | string>, effects: SideEffectServer) {
  const problems: string[] = []
  let lost = 0
  for (const { id, n, workflow } of accepted) {
    const run = runs.get(id)
    if (typeof run !== 'object' || run.status !== 'succeeded') {
      lost++
      const detail = typeof run === 'object' ? `${run.status} ${JSON.stringify(run.error)}` : run
      problems.push(`run ${id} (${workflow.definition.id}) ended ${detail}`)
      continue
    }
    const expected = workflow.output(id, n)
    if (JSON.stringify(run.output) !== JSON.stringify(expected))
      problems.push(`run ${id}: output ${JSON.stringify(run.output)}, not ${JSON.stringify(expected)}`)
    // a step run again after a crash keeps its attempt (and so its idempotency key)
    for (const step of run.steps) {
      if (step.status !== 'succeeded' || step.attempts !== 1)
        problems.push(`${id}:${step.id} ended ${step.status} after ${step.attempts} attempt(s)`)
    }
    for (const stepId of workflow.httpSteps) {
      const key = `${id}:${stepId}`
      const step = run.steps.find((s) => s.id === stepId)
      const calls = effects.callsFor(key).length
      const body = step?.output?.body
      if (step?.status !== 'succeeded' || step.output?.status !== 200 || body?.key !== key) {
        problems.push(`${key}: no final output (${JSON.stringify(step)})`)
      } else if (body.call !== calls) {
        problems.push(`${key}: the stored output is from call ${body.call}, the server saw ${calls}`)
      }
    }
  }
  return { problems, lost }
}

describe(`piecework serve killed at random moments (${TEST_DB})`, () => {
  let effects: SideEffectServer
  let serve: ServeProcess
  let databaseUrl: string

  beforeAll(async () => {
    effects = await SideEffectServer.start({ latencyMs: [5, 40] })
    databaseUrl = await freshDatabaseUrl()
    const port = await freePort()
    serve = new ServeProcess(port, {
      ...killTestEnv(port, databaseUrl),
      PIECEWORK_WORKERS_THREADS: String(THREADS),
      PIECEWORK_RUNS_PASSIVATE_AFTER: '500ms',
      PIECEWORK_RUNS_SHUTDOWN_GRACE: '2s',
      // kills every 0.3–2 s come faster than a backlog drains: a step still waiting for a thread
      // is checkpointed `running` at several kills in a row and would fail CRASHED (crash-loop.test.ts)
      PIECEWORK_RUNS_MAX_INTERRUPTIONS: '1000',
    })
    await serve.start()
  }, 90_000)

  afterAll(async () => {
    if (serve?.running) await serve.kill()
    await effects?.close()
  })

  it('finishes every accepted run and repeats only side effects of steps running at a kill', async () => {
    const began = Date.now()
    const workflows = [chainWorkflow(effects.url), fanoutWorkflow(effects.url)]
    for (const { definition } of workflows) await serve.json('/api/v1/workflows', { json: definition }, 201)

    const loader = new Loader(serve, workflows)
    let loaded = false
    const loading = loader.run(RUNS).then(() => {
      loaded = true
    })
    const snapshots: Snapshot[] = []
    const killedAt: number[] = []
    while ((snapshots.length < MIN_KILLS || !loaded) && snapshots.length < MAX_KILLS) {
      await sleep(300 + Math.random() * 1700)
      killedAt.push(Date.now())
      await serve.kill()
      snapshots.push(await snapshot(databaseUrl))
      effects.generation += 1
      await serve.start()
    }
    await loading
    const kills = snapshots.length
    const killPhase = Date.now() - began

    const stuck = await settle(serve, SETTLE_MS)
    const settling = Date.now() - began - killPhase
    const runs = await readRuns(
      serve,
      loader.accepted.map((a) => a.id),
    )
    const failed = await serve.json<{ items: { id: string }[] }>('/api/v1/runs?status=failed&limit=500')
    const byRuns = judgeRuns(loader.accepted, runs, effects)
    const byEffects = judgeEffects(effects, snapshots, killedAt)
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
    console.log(
      `crash test (${TEST_DB}): runs=${loader.accepted.length} kills=${kills} ` +
        `re-executed steps=${byEffects.reexecuted} lost runs=${byRuns.lost}`,
    )
    console.log(
      `crash test (${TEST_DB}): ${seconds(Date.now() - began)} (kills ${seconds(killPhase)}, ` +
        `settling ${seconds(settling)}); starts refused=${loader.refused}; ` +
        `re-executed steps vs kills x threads=${byEffects.reexecuted}/${kills * THREADS}; ` +
        `side-effect calls=${effects.calls.length} (per process: [${callsPerProcess(effects, kills)}]); repeats per kill: in a worker=[${byEffects.inFlight}] ` +
        `answered but not yet checkpointed=[${byEffects.unsaved}] (answered ms before the kill: ` +
        `[${byEffects.waits}]); ` +
        `runs at each kill=${snapshots.map((s) => JSON.stringify(s.runs)).join(' ')}`,
    )
    const problems = [...byRuns.problems, ...byEffects.problems]
    const context = `${problems.slice(0, 20).join('\n')}\n--- server output (tail) ---\n${serve.output().slice(-6000)}`

    expect(loader.accepted.length).toBeGreaterThanOrEqual(200)
    expect(new Set(loader.accepted.map((a) => a.id)).size).toBe(loader.accepted.length)
    expect(kills).toBeGreaterThanOrEqual(5)
    expect(loader.unexpected, context).toEqual([])
    expect(stuck, context).toEqual([])
    expect(failed.items, context).toEqual([])
    expect(problems, context).toEqual([])
    expect(byRuns.lost).toBe(0)
    // one step at a time per worker thread: no more than THREADS steps were inside a worker at a kill
    expect(byEffects.inFlightCalls, context).toBeLessThanOrEqual(kills * THREADS)
    // a result waits for its group commit for milliseconds, never for seconds
    expect(Math.max(0, ...byEffects.waits), context).toBeLessThan(5_000)

    const exit = await serve.terminate()
    expect(exit.code, serve.output().slice(-4000)).toBe(0)
  }, 240_000)
})
