// docs/pieces-reference.md is written from the pieces' schemas: it must match what they say now.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { pieceCatalogue } from '../../src/piece-sdk/catalogue.js'
import { pieceReference, typeText } from '../../src/piece-sdk/reference.js'
import { loadRegistry } from '../../src/piece-sdk/registry.js'
import { ROOT } from '../helpers/cases.js'

describe('the built-in pieces reference', () => {
  it('is up to date with the schemas (else run npm run docs:pieces)', async () => {
    const written = readFileSync(join(ROOT, 'docs/pieces-reference.md'), 'utf8')
    expect(written).toBe(pieceReference(pieceCatalogue(await loadRegistry())))
  })

  it('writes short type expressions', () => {
    expect(typeText({ enum: ['a', 'b'], type: 'string' })).toBe('a \\| b')
    expect(typeText({ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'number' }] } })).toBe(
      '(string \\| number)[]',
    )
    expect(typeText({ type: 'object', additionalProperties: { type: 'string' } })).toBe('{ [key]: string }')
    expect(typeText({ type: 'integer', minimum: 1 })).toBe('integer (≥ 1)')
    expect(typeText(undefined)).toBe('any')
  })
})
