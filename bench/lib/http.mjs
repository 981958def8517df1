// A lean HTTP client over keep-alive sockets (node:http): fetch costs a few hundred microseconds a
// request on its own, which would blur latencies measured in single milliseconds.
import http from 'node:http'

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

/**
 * One request; resolves with `{ status, body, ms }` where `body` is the parsed JSON answer when it
 * is JSON, and `ms` the time from sending to the last byte.
 */
export function request(url, { method = 'GET', json, timeoutMs = 60_000 } = {}) {
  const payload = json === undefined ? undefined : JSON.stringify(json)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () => {
          const ms = performance.now() - started
          const text = Buffer.concat(chunks).toString('utf8')
          let body = text
          if (/\bjson\b/.test(res.headers['content-type'] ?? '')) {
            try {
              body = JSON.parse(text)
            } catch {}
          }
          resolve({ status: res.statusCode, body, text, ms })
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** A request that must answer `status`; throws with the body otherwise. */
export async function expectStatus(url, init, status) {
  const res = await request(url, init)
  const wanted = Array.isArray(status) ? status : [status]
  if (!wanted.includes(res.status))
    throw new Error(`${init?.method ?? 'GET'} ${url} answered ${res.status}: ${res.text}`)
  return res
}

export function closeAgent() {
  agent.destroy()
}

/**
 * Calls `fn(i)` for i = 0 … count − 1, at most `lanes` at once (each lane takes the next i when its
 * call ends); resolves with the results in order of i.
 */
export async function inLanes(count, lanes, fn) {
  const results = new Array(count)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const i = next++
      results[i] = await fn(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane))
  return results
}
