// WAL checkpoints of a SQLite file, off the engine's thread. SQLite checkpoints the WAL from within
// the commit that grows it past 1,000 pages: on the engine's one connection, a copy of ~4 MB into
// the database file and an fsync in the middle of the event loop, every second or so under load,
// which every request in flight then waits for. Once the engine has written that much, a worker
// thread with a connection of its own takes the checkpoints over: CHECKPOINT_AFTER_MS after the
// engine commits, it copies what the WAL holds (PASSIVE: it never waits for the writer, nor holds it
// up). Small and often: the fsync that ends a checkpoint holds up the engine's next writes to the
// file for as long as it takes (the file system's journal), so each copies little. The engine's
// connection still checkpoints by itself past SAFETY_PAGES (the WAL is rewound only once a
// checkpoint has caught up with the writer, which under unbroken load this one may not), and again
// at SQLite's own 1,000 pages should the worker fail.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** Rows the engine writes before the checkpoints move off its thread (about SQLite's 1,000 pages). */
const ROWS_BEFORE = 10_000
/**
 * How soon after a commit the worker copies the WAL. The realistic webhook at 32 connections on a
 * disk (docs/performance.md), its p99: 33-42 ms at 100 ms, 21-24 ms at 25, 18-21 ms at 10; on a
 * tmpfs (no fsync) 17-19 ms.
 */
const CHECKPOINT_AFTER_MS = 10
/** The engine's connection checkpoints by itself past this many WAL pages (~64 MB). */
const SAFETY_PAGES = 16_000
const SQLITE_DEFAULT_PAGES = 1_000

/** The little of a better-sqlite3 connection this needs. */
export interface WalConnection {
  readonly name: string
  readonly memory: boolean
  pragma(text: string): unknown
}

// CommonJS, evaluated in the worker: a connection of its own; told of commits (at most once until
// its next checkpoint, by a flag the two threads share), a PASSIVE checkpoint a moment later
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('synchronous = NORMAL')
const told = new Int32Array(workerData.told)
let timer
parentPort.on('message', (message) => {
  if (message === 'wrote') {
    timer ??= setTimeout(() => {
      timer = undefined
      Atomics.store(told, 0, 0)
      db.pragma('wal_checkpoint(PASSIVE)')
    }, workerData.afterMs)
    return
  }
  clearTimeout(timer)
  db.close()
  parentPort.close()
})
`

export class WalCheckpoints {
  private rows = 0
  private worker: Worker | undefined
  private closed = false
  /** 1 while the worker has been told of a commit it has not yet checkpointed. */
  private readonly told = new Int32Array(new SharedArrayBuffer(4))

  constructor(private readonly connection: WalConnection) {}

  /** The engine wrote rows: past ROWS_BEFORE, the worker takes the checkpoints over. */
  wrote(rows: number): void {
    if (this.worker) {
      if (Atomics.exchange(this.told, 0, 1) === 0) this.worker.postMessage('wrote')
      return
    }
    if (this.closed || this.connection.memory) return
    this.rows += rows
    if (this.rows >= ROWS_BEFORE) this.start()
  }

  /** Whether the checkpoints are off the engine's thread now. */
  get running(): boolean {
    return this.worker !== undefined
  }

  private start(): void {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        driver,
        file: this.connection.name,
        afterMs: CHECKPOINT_AFTER_MS,
        told: this.told.buffer,
      },
    })
    worker.unref()
    this.worker = worker
    this.connection.pragma(`wal_autocheckpoint = ${SAFETY_PAGES}`)
    const failed = () => {
      if (this.closed || this.worker !== worker) return
      // SQLite checkpoints by itself again, as before the worker
      this.connection.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`)
    }
    worker.on('error', failed)
    worker.on('exit', failed)
  }

  /** Stops the worker (before the engine's connection closes, which checkpoints what is left). */
  async close(): Promise<void> {
    this.closed = true
    const worker = this.worker
    if (!worker) return
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    worker.postMessage('stop')
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
    await worker.terminate()
  }
}
