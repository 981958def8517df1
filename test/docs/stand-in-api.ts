// A local stand-in for the APIs the docs' examples call (`api:` in a marker), so that the examples
// run as written without the network: GET /users/:id answers a user for ids 1 to 99, any POST is
// accepted (201, echoing its body), anything else is 404.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface StandInApi {
  url: string
  close(): Promise<void>
}

export async function startStandInApi(): Promise<StandInApi> {
  const server = createServer(async (req, res) => {
    let received = ''
    for await (const chunk of req) received += chunk
    const user = /^\/users\/(\d+)$/.exec(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)
    const id = Number(user?.[1] ?? 0)
    const [status, body] =
      req.method === 'POST'
        ? [201, { received: received ? JSON.parse(received) : null }]
        : req.method === 'GET' && id >= 1 && id <= 99
          ? [200, { id, name: `User ${id}`, email: `user${id}@example.com` }]
          : [404, { error: 'not found' }]
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
