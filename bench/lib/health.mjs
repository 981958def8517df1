// /health polled one request at a time while a bench loads the server: its event loop's answer time.
import { request } from './http.mjs'
import { now, sleep } from './stats.mjs'

/** Polls GET /health every 5 ms (one request at a time) until `stop()`; returns the latencies. */
export function pollHealth(server) {
  const times = []
  let running = true
  const done = (async () => {
    while (running) {
      const started = now()
      const res = await request(`${server.url}/health`)
      if (res.status !== 200) throw new Error(`/health answered ${res.status}`)
      times.push(res.ms)
      await sleep(Math.max(0, 5 - (now() - started)))
    }
  })()
  return async () => {
    running = false
    await done
    return times
  }
}
