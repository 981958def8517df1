// Load generation in a process of its own: `loadTest()` spawns this file, which drives autocannon
// against the server and prints its summary as one JSON line. The server, the bench and the load
// generator never share an event loop.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * @param {object} options url, method, body (object), connections, durationSeconds, expectBody (string)
 * @returns {Promise<{ requests: number, rps: number, p50: number, p99: number, non2xx: number,
 *   errors: number, timeouts: number, mismatches: number, statuses: Record<string, number> }>}
 */
export function loadTest(options) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`the load generator exited with ${code}: ${out}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()))
      } catch (error) {
        reject(new Error(`the load generator printed no summary: ${out} (${error.message})`))
      }
    })
  })
}

async function main(options) {
  const { default: autocannon } = await import('autocannon')
  const statuses = {}
  let mismatches = 0
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 30,
    requests: [
      {
        method: options.method ?? 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(options.body ?? {}),
        onResponse: (status, body) => {
          statuses[status] = (statuses[status] ?? 0) + 1
          if (options.expectBody !== undefined && body !== options.expectBody) mismatches++
        },
      },
    ],
  })
  const summary = {
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || options.durationSeconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches,
    statuses,
    durationSeconds: result.duration,
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

if (fileURLToPath(import.meta.url) === process.argv[1]) await main(JSON.parse(process.argv[2]))
