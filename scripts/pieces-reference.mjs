// Writes docs/pieces-reference.md from the built-in pieces' schemas (run after `npm run build`).
import { writeFileSync } from 'node:fs'
import { pieceCatalogue } from '../dist/src/piece-sdk/catalogue.js'
import { pieceReference } from '../dist/src/piece-sdk/reference.js'
import { loadRegistry } from '../dist/src/piece-sdk/registry.js'

const target = new URL('../docs/pieces-reference.md', import.meta.url)
writeFileSync(target, pieceReference(pieceCatalogue(await loadRegistry())))
console.log(`wrote ${target.pathname}`)
