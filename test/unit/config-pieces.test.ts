// The config keys of pieces and credentials: entries normalised, bad ones named, services merged.
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { ValidationError } from '../../src/errors.js'
import { credentialsFromConfig } from '../../src/piece-sdk/credentials.js'

describe('pieces and credentials in the config', () => {
  it('turns each pieces entry into a source that fails unless told to skip', () => {
    const config = parseConfig({ pieces: ['./extra', { from: '@acme/piece-x', onError: 'skip' }] }, {})
    expect(config.pieces).toEqual([
      { from: './extra', onError: 'fail' },
      { from: '@acme/piece-x', onError: 'skip' },
    ])
    expect(parseConfig({}, {}).pieces).toEqual([])
  })

  it('names a bad pieces entry and a bad credentials key', () => {
    const error = (() => {
      try {
        parseConfig(
          { pieces: [{ from: './x', onError: 'ignore' }], credentials: { Text: { token: 'a' } } },
          {},
        )
      } catch (e) {
        return e as ValidationError
      }
    })()
    expect(error).toBeInstanceOf(ValidationError)
    const paths = error!.problems.map((p) => p.path)
    expect(paths).toContain('pieces[0]')
    expect(error!.message).toContain('onError: fail | skip')
    expect(paths.some((p) => p.startsWith('credentials'))).toBe(true)
  })

  it('rejects an unknown credentials field, naming it', () => {
    expect(() => parseConfig({ credentials: { text: { secret: 'x' } } }, {})).toThrow(
      /credentials\.text\.secret/,
    )
  })

  it('reads secrets from the environment and gives the ALT_LAS pieces their services entries', () => {
    const config = parseConfig(
      {
        services: { aiOrchestrator: { baseUrl: 'http://ai:8080', apiKey: `\${AI_KEY}` } },
        credentials: { 'os-integration': { apiKey: 'os-key' }, text: { token: `\${TEXT_TOKEN}` } },
      },
      { AI_KEY: 'from-env', TEXT_TOKEN: 'tt' },
    )
    expect(credentialsFromConfig(config)).toEqual({
      'ai-orchestrator': { baseUrl: 'http://ai:8080', apiKey: 'from-env' },
      'os-integration': { apiKey: 'os-key' },
      text: { token: 'tt' },
    })
  })
})

describe('pieces from the environment', () => {
  it('PIECEWORK_PIECES takes comma-separated sources', () => {
    expect(parseConfig({}, { PIECEWORK_PIECES: './a, @acme/b' }).pieces).toEqual([
      { from: './a', onError: 'fail' },
      { from: '@acme/b', onError: 'fail' },
    ])
  })
})
