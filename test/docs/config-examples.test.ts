// Every YAML block of docs/configuration.md is a configuration file (or a part of one): each is
// checked against the configuration schema, as `piecework serve` would load it, so that the page
// cannot drift from what the engine accepts.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { readBlocks } from './doc-examples.js'

const blocks = readBlocks('docs/configuration.md').filter((b) => b.lang === 'yaml')

describe('the configuration examples of docs/configuration.md', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThan(3)
  })

  it.each(blocks.map((b) => [b.where, b] as const))('%s is a valid configuration', (_, block) => {
    const file = join(mkdtempSync(join(tmpdir(), 'piecework-doc-config-')), 'piecework.yaml')
    writeFileSync(file, block.text)
    // variables a deployment sets need not be set here, as for `piecework validate`
    expect(() => loadConfig(file, {}, 'skip')).not.toThrow()
  })
})
