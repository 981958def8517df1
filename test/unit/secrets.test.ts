// Named secrets without a database: the cipher (sealing, tampering, a row moved to another name),
// the configuration's secrets section (`${VAR}`, PIECEWORK_SECRETS_KEY, bad keys named), the names a
// definition writes out, and the forms of a value that are scrubbed.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { compileWorkflow } from '../../src/definition/compile.js'
import type { ValidationError } from '../../src/errors.js'
import { loadRegistry } from '../../src/piece-sdk/registry.js'
import { open, parseKey, seal } from '../../src/secrets/cipher.js'
import { namedSecrets, secretReferences } from '../../src/secrets/references.js'
import { Redactor, valueForms } from '../../src/workers/redact.js'

const hexKey = randomBytes(32).toString('hex')

function thrown(work: () => unknown): ValidationError {
  try {
    work()
  } catch (error) {
    return error as ValidationError
  }
  throw new Error('expected an error')
}

describe('the cipher of stored secrets', () => {
  const key = parseKey(hexKey, 'secrets.key')

  it('reads a key as hex or base64, the same key the same id', () => {
    const base64 = parseKey(Buffer.from(hexKey, 'hex').toString('base64'), 'secrets.key')
    expect(base64.id).toBe(key.id)
    expect(key.id).toMatch(/^[0-9a-f]{16}$/)
    expect(thrown(() => parseKey('short', 'secrets.previousKeys[1]')).problems).toEqual([
      { path: 'secrets.previousKeys[1]', message: expect.stringContaining('32 bytes') },
    ])
  })

  it('seals with a fresh nonce each time, and opens what it sealed', () => {
    const a = seal(key, 'gh', 'ghp_value-1234')
    const b = seal(key, 'gh', 'ghp_value-1234')
    expect(a.iv).not.toBe(b.iv)
    expect(a.data).not.toContain('ghp_value')
    expect(open(key, 'gh', a)).toBe('ghp_value-1234')
  })

  it('refuses a tampered value, a row moved to another name and another key', () => {
    const sealed = seal(key, 'gh', 'ghp_value-1234')
    const bytes = Buffer.from(sealed.data, 'base64')
    bytes[0]! ^= 1
    expect(() => open(key, 'gh', { ...sealed, data: bytes.toString('base64') })).toThrow(/does not open/)
    expect(() => open(key, 'other', sealed)).toThrow(/'other' does not open/)
    const other = parseKey(randomBytes(32).toString('hex'), 'k')
    expect(() => open(other, 'gh', sealed)).toThrow(/does not open/)
  })
})

describe('the secrets section of the configuration', () => {
  it('reads values through the environment and the key from PIECEWORK_SECRETS_KEY', () => {
    const config = parseConfig(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the configuration's own `${VAR}`
      { secrets: { values: { 'github-token': '${GH}', 'smtp.login': '${U}:${P}' } } },
      { GH: 'ghp_abcdef', U: 'ada', P: 'pw-1234', PIECEWORK_SECRETS_KEY: hexKey },
    )
    expect(config.secrets).toEqual({
      key: hexKey,
      previousKeys: [],
      values: { 'github-token': 'ghp_abcdef', 'smtp.login': 'ada:pw-1234' },
    })
    expect(parseConfig({}, {}).secrets).toEqual({ previousKeys: [], values: {} })
  })

  it('names a bad key, a bad name and a value too short to scrub, all at once', () => {
    const error = thrown(() =>
      parseConfig({ secrets: { key: 'not-a-key', values: { 'bad name': 'abcdef', pin: '12' } } }, {}),
    )
    expect(error.problems).toEqual(
      expect.arrayContaining([
        { path: 'secrets.key', message: expect.stringContaining('32-byte key') },
        { path: 'secrets.values.bad name', message: expect.stringContaining('letters, digits') },
        { path: 'secrets.values.pin', message: 'must be at least 4 characters' },
      ]),
    )
  })
})

describe('secret names in a definition', () => {
  it('finds names written out in expressions and at an action’s secretProps, with their paths', async () => {
    const registry = await loadRegistry()
    const definition = {
      id: 'x',
      trigger: { uses: 'manual' },
      steps: [
        {
          id: 'a',
          uses: 'data.set',
          with: { value: { h: 'Bearer {{ $secret(\'one\') }} {{ $secret("two") }}' } },
        },
        { id: 'b', uses: 'http.request', with: { url: 'http://x', auth: { secret: 'three' } } },
        { id: 'c', uses: 'http.request', with: { url: 'http://x', auth: { secret: '{{ input.name }}' } } },
        { id: 'd', uses: 'data.set', with: { value: '{{ $secret(input.name) }}' } },
      ],
      output: "{{ $secret('four') }}",
    }
    expect(secretReferences(definition, registry)).toEqual([
      { path: 'steps[0].with.value.h', name: 'one' },
      { path: 'steps[0].with.value.h', name: 'two' },
      { path: 'output', name: 'four' },
      { path: 'steps[1].with.auth.secret', name: 'three' },
    ])
  })

  it('checks http.request auth when the definition is checked: header with type header, and only then', async () => {
    const registry = await loadRegistry()
    const problems = (auth: unknown) => {
      const definition = {
        id: 'x',
        trigger: { uses: 'manual' },
        steps: [{ id: 'a', uses: 'http.request', with: { url: 'http://x', auth } }],
      }
      try {
        compileWorkflow(definition, registry)
        return []
      } catch (error) {
        return (error as ValidationError).problems.map((p) => `${p.path}: ${p.message}`)
      }
    }
    expect(problems({ secret: 'gh' })).toEqual([])
    expect(problems({ secret: 'gh', type: 'header', header: 'x-api-key' })).toEqual([])
    expect(problems({ secret: '{{ input.name }}', type: 'basic' })).toEqual([])
    expect(problems({ secret: 'gh', type: 'header' })).toEqual([
      "steps[0].with.auth: step 'a': header is needed with type: header, and only then",
    ])
    expect(problems({ secret: 'gh', type: 'token' })[0]).toContain('steps[0].with.auth.type')
  })

  it('gives the names a step’s resolved props carry at secretProps', () => {
    expect(namedSecrets(['auth.secret'], { auth: { secret: 'gh' } })).toEqual(['gh'])
    expect(namedSecrets(['auth.secret'], { url: 'http://x' })).toEqual([])
    expect(namedSecrets(undefined, { auth: { secret: 'gh' } })).toEqual([])
  })
})

describe('the forms of a secret that are scrubbed', () => {
  it('scrubs raw, JSON-escaped, URL-encoded and extra forms, but not values under 4 characters', () => {
    const value = 'p"a/ss wörd'
    const basic = Buffer.from(`u:${value}`).toString('base64')
    const redactor = new Redactor(valueForms([value, 'abc'], [basic]))
    const text = [value, JSON.stringify(value), encodeURIComponent(value), basic, 'abc'].join(' | ')
    expect(redactor.text(text)).toBe('[redacted] | "[redacted]" | [redacted] | [redacted] | abc')
  })
})
