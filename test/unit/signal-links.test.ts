// Signed signal links: what a token names, which tokens are refused, and the configuration that
// makes them (server.publicUrl, server.signingKey), with runs.maxItems and runs.maxDepth.
import { describe, expect, it } from 'vitest'
import { engineOptions } from '../../src/commands/serve.js'
import { parseConfig } from '../../src/config/load.js'
import { SignalLinks } from '../../src/http/signal-links.js'

const KEY = 'k'.repeat(32)
const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1)

describe('signal link tokens', () => {
  const links = new SignalLinks('https://flows.example.com/pw/', KEY)

  it('names the run and the signal, under the public URL and its path', () => {
    const url = links.url('run-1:child/2', 'approval')
    expect(url).toMatch(/^https:\/\/flows\.example\.com\/pw\/signals\/[\w-]+\.[\w-]+$/)
    expect(links.read(tokenOf(url))).toEqual({ runId: 'run-1:child/2', name: 'approval' })
  })

  it('refuses a token with any character of its signature changed, even unused low bits', () => {
    const token = links.token({ runId: 'r', name: 'go' })
    const [payload, signature] = token.split('.') as [string, string]
    for (const at of [0, signature.length - 1]) {
      const c = signature[at]!
      const other = c === 'A' ? 'B' : 'A'
      expect(
        links.read(`${payload}.${signature.slice(0, at)}${other}${signature.slice(at + 1)}`),
      ).toBeUndefined()
    }
  })

  it('refuses tokens signed with another key, and malformed ones', () => {
    const foreign = new SignalLinks('https://flows.example.com', 'x'.repeat(32)).token({
      runId: 'r',
      name: 'go',
    })
    for (const token of [foreign, '', '.', 'abc', 'a.b.c', `${foreign}.x`])
      expect(links.read(token)).toBeUndefined()
  })
})

describe('the configuration of signal links and v2 limits', () => {
  it('defaults publicUrl to where the server listens, and leaves links off without a key', () => {
    expect(parseConfig({}, {}).server.publicUrl).toBe('http://127.0.0.1:3000')
    expect(parseConfig({ server: { host: '::1', port: 8080 } }, {}).server.publicUrl).toBe(
      'http://[::1]:8080',
    )
    expect(engineOptions(parseConfig({}, {})).signalUrl).toBeUndefined()
  })

  it('makes links from the key and public URL given, also through the environment', () => {
    const config = parseConfig(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the configuration's own `${VAR}`
      { server: { signingKey: '${KEY}' } },
      { KEY, PIECEWORK_SERVER_PUBLIC_URL: 'https://flows.example.com' },
    )
    expect(engineOptions(config).signalUrl?.('r', 'go')).toMatch(/^https:\/\/flows\.example\.com\/signals\//)
  })

  it('passes runs.maxItems and runs.maxDepth to the engine, 10,000 and 10 by default', () => {
    expect(engineOptions(parseConfig({}, {}))).toMatchObject({ maxItems: 10_000, maxDepth: 10 })
    const config = parseConfig({}, { PIECEWORK_RUNS_MAX_ITEMS: '50', PIECEWORK_RUNS_MAX_DEPTH: '3' })
    expect(engineOptions(config)).toMatchObject({ maxItems: 50, maxDepth: 3 })
  })

  it.each([
    [{ server: { publicUrl: 'flows.example.com' } }, 'server.publicUrl'],
    [{ server: { publicUrl: 'ftp://flows.example.com' } }, 'server.publicUrl'],
    [{ server: { signingKey: 'short' } }, 'server.signingKey'],
    [{ runs: { maxItems: 0 } }, 'runs.maxItems'],
    [{ runs: { maxDepth: 1.5 } }, 'runs.maxDepth'],
  ])('refuses %j, naming %s', (raw, key) => {
    expect(() => parseConfig(raw, {})).toThrow(key)
  })
})
