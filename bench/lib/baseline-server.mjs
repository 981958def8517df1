// The baselines of figure 16: a node:http server in a process of its own that answers the realistic
// webhook's request (lib/workflows.mjs) with the same body, without piecework. `json` parses the
// body, does the 5 merges in plain JS and answers; `durable` does the same and first commits the
// rows a piecework run writes (the run, its 5 steps, the run's end) to a SQLite file set up as the
// engine sets up its own. `startBaseline()` spawns this file, which prints `{"port":N}` once it listens.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { request } from './http.mjs'
import { REALISTIC_STEPS } from './workflows.mjs'

/**
 * Spawns a baseline (`mode` 'json' or 'durable'; `file` the SQLite file of 'durable') and resolves
 * once it listens, with its url, `stats()` (commits and runs so far) and `close()`.
 */
export function startBaseline(mode, file) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), mode, ...(file ? [file] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk) => {
      out += chunk
      // whole lines only: the port may arrive in two chunks
      const line = out
        .split('\n')
        .slice(0, -1)
        .find((l) => l.startsWith('{'))
      if (!line) return
      child.stdout.off('data', onData)
      const url = `http://127.0.0.1:${JSON.parse(line).port}`
      resolve({
        url,
        stats: async () => (await request(`${url}/stats`)).body,
        close: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
          await exited
        },
      })
    }
    child.stdout.on('data', onData)
    child.once('error', reject)
    child.once('exit', (code) =>
      reject(new Error(`the ${mode} baseline exited with ${code} before listening: ${out}`)),
    )
  })
}

/** Each step's output: the one before (the body, for the first) with the step's own field merged in. */
function work(body) {
  const outputs = []
  let value = body
  let previous = 'order'
  for (const step of REALISTIC_STEPS) {
    value = { ...value, [step]: value[previous] + 1 }
    outputs.push(value)
    previous = step
  }
  return outputs
}

// The two tables a run of the realistic webhook writes to, with the columns and indexes the
// engine's migrations give them (src/store/migrations): an index costs its share of every write.
const SCHEMA = `
create table if not exists runs (
  id varchar(255), workflow_id varchar(255) not null, workflow_version integer not null,
  status varchar(255) not null, input text, output text, error text, created_at bigint not null,
  started_at bigint, finished_at bigint, owner varchar(255), lease_until bigint,
  lease_epoch integer not null default '1', cancel_requested_at bigint, parent_run_id varchar(255),
  parent_step_id varchar(255), parent_waits integer default '0', depth integer default '0',
  primary key (id));
create index if not exists runs_workflow_id_created_at_index on runs (workflow_id, created_at);
create index if not exists runs_cancel_requested_at_index on runs (cancel_requested_at);
create index if not exists runs_status_finished_at_index on runs (status, finished_at);
create index if not exists runs_workflow_id_status_finished_at_index on runs (workflow_id, status, finished_at);
create index if not exists runs_parent_run_id_index on runs (parent_run_id);
create index if not exists runs_created_at_id_index on runs (created_at, id);
create table if not exists step_states (
  run_id varchar(255) not null, step_id varchar(255) not null, status varchar(255) not null,
  attempts integer not null, handle varchar(255), output text, error text, wake_at bigint,
  started_at bigint, finished_at bigint, interruptions integer not null default '0',
  wait_signal varchar(255), wait_key text, wait_until bigint, child_run_id varchar(255),
  items_total integer, primary key (run_id, step_id));
create index if not exists step_states_status_wake_at_index on step_states (status, wake_at);
create index if not exists step_states_wait_signal_status_run_id_index on step_states (wait_signal, status, run_id);
`

/**
 * The rows of runs on a SQLite file, by group commit as the engine's checkpoint writer does it: a
 * run's rows wait for the next transaction, which starts once the event loop has read what arrived
 * (setImmediate). The transaction is synchronous, on the main thread, as the engine's is on SQLite:
 * requests that arrive while it runs are read after it, and share the next one.
 */
function durableStore(file) {
  const db = new Database(file)
  // the engine's pragmas (src/store/orm.ts)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.exec(SCHEMA)
  const insertRun = db.prepare(
    `insert into runs (id, workflow_id, workflow_version, status, input, created_at, started_at, owner,
       lease_until, parent_waits, depth) values (?, 'realistic-hook', 1, 'running', ?, ?, ?, ?, ?, 0, 0)`,
  )
  // an upsert, as the engine writes step rows (a step's row may exist from an earlier checkpoint)
  const upsertStep = db.prepare(
    `insert into step_states (run_id, step_id, status, attempts, interruptions, handle, output, error,
       wake_at, started_at, finished_at, wait_signal, wait_key, wait_until, child_run_id, items_total)
     values (?, ?, 'succeeded', 1, 0, 'out', ?, null, null, ?, ?, null, null, null, null, null)
     on conflict (run_id, step_id) do update set status = excluded.status, attempts = excluded.attempts,
       interruptions = excluded.interruptions, handle = excluded.handle, output = excluded.output,
       error = excluded.error, wake_at = excluded.wake_at, started_at = excluded.started_at,
       finished_at = excluded.finished_at, wait_signal = excluded.wait_signal, wait_key = excluded.wait_key,
       wait_until = excluded.wait_until, child_run_id = excluded.child_run_id, items_total = excluded.items_total`,
  )
  const endRun = db.prepare(
    `update runs set status = 'succeeded', output = ?, error = null, finished_at = ?, owner = null,
       lease_until = null where id = ?`,
  )
  const owner = randomUUID()
  const writeBatch = db.transaction((runs) => {
    for (const run of runs) {
      insertRun.run(run.id, run.input, run.at, run.at, owner, run.at + 30_000)
      for (const [i, output] of run.outputs.entries())
        upsertStep.run(run.id, REALISTIC_STEPS[i], output, run.at, run.at)
      endRun.run(run.answer, run.at, run.id)
    }
  })
  const stats = { commits: 0, runs: 0 }
  let waiting = []
  const commit = () => {
    const batch = waiting
    waiting = []
    let failure
    try {
      writeBatch(batch)
      stats.commits++
      stats.runs += batch.length
    } catch (error) {
      failure = error
    }
    for (const run of batch) run.done(failure)
  }
  return {
    stats,
    /** Calls `run.done(error?)` once the run's rows are committed. */
    save(run) {
      waiting.push(run)
      if (waiting.length === 1) setImmediate(commit)
    },
    close: () => db.close(),
  }
}

function main(mode, file) {
  const store = mode === 'durable' ? durableStore(file) : undefined
  const stats = store?.stats ?? { commits: 0, runs: 0 }
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify(stats))
    }
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/hooks/orders') {
        res.writeHead(404, { 'content-type': 'application/json' })
        return res.end('{"error":"not found"}')
      }
      const at = Date.now()
      let body
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' })
        return res.end('{"error":"the body is not valid JSON"}')
      }
      const outputs = work(body)
      const answer = JSON.stringify(outputs.at(-1))
      const reply = (error) => {
        res.writeHead(error ? 500 : 200, { 'content-type': 'application/json' })
        res.end(error ? JSON.stringify({ error: String(error) }) : answer)
      }
      if (!store) {
        stats.runs++
        return reply()
      }
      // the run's input as the engine stores it: the trigger's output, request headers included
      const input = JSON.stringify({
        method: req.method,
        path: 'orders',
        headers: req.headers,
        query: {},
        body,
      })
      store.save({
        id: randomUUID(),
        at,
        input,
        outputs: outputs.map((output) => JSON.stringify(output)),
        answer,
        done: reply,
      })
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
  })
  process.once('SIGTERM', () => {
    server.closeAllConnections()
    server.close()
    store?.close()
    process.exit(0)
  })
}

if (fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv[2], process.argv[3])
