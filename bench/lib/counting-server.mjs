// The outside world of the recovery bench: a node:http server in the bench process (so it outlives
// every engine process) that counts the requests carrying each Idempotency-Key.
import { createServer } from 'node:http'

export class CountingServer {
  /** key (`<runId>:<stepId>`) → the calls that carried it, each `{ at, generation }` */
  calls = new Map()
  /** Bumped by the bench between one engine process and the next. */
  generation = 1

  static async start() {
    const counting = new CountingServer()
    counting.server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const key = req.headers['idempotency-key']
        if (typeof key === 'string') {
          const list = counting.calls.get(key) ?? []
          list.push({ at: Date.now(), generation: counting.generation, path: req.url })
          counting.calls.set(key, list)
        }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"ok":true}')
      })
    })
    counting.server.keepAliveTimeout = 60_000
    await new Promise((resolve) => counting.server.listen(0, '127.0.0.1', resolve))
    counting.url = `http://127.0.0.1:${counting.server.address().port}`
    return counting
  }

  /** How many distinct keys of `stepId` were called (at least once). */
  distinct(stepId) {
    let n = 0
    for (const key of this.calls.keys()) if (key.endsWith(`:${stepId}`)) n++
    return n
  }

  /** The first call of `stepId` in `generation`, or undefined. */
  firstCall(stepId, generation) {
    let first
    for (const [key, list] of this.calls) {
      if (!key.endsWith(`:${stepId}`)) continue
      for (const call of list)
        if (call.generation === generation && (first === undefined || call.at < first)) first = call.at
    }
    return first
  }

  async close() {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}
