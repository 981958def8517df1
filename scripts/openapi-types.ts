// Writes src/http/api-types.gen.ts, the TypeScript types of the OpenAPI document, for openapi-fetch
// clients (the remote CLI, the tests). Run `npm run openapi:types` after changing a route's entry in
// src/http/openapi.ts; a test fails while the checked-in file differs from what this makes.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'
import { openApiDocument } from '../src/http/openapi.js'

export const API_TYPES_FILE = fileURLToPath(new URL('../src/http/api-types.gen.ts', import.meta.url))

const HEADER = `// Generated from the OpenAPI document (src/http/openapi.ts) by \`npm run openapi:types\`: do not edit.
/* biome-ignore-all format: generated */
`

export async function renderApiTypes(): Promise<string> {
  // the version is not part of the types; a fixed one keeps the file stable across releases
  const doc = openApiDocument('0.0.0') as unknown as Parameters<typeof openapiTS>[0]
  return HEADER + astToString(await openapiTS(doc, { alphabetize: false, defaultNonNullable: false }))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(API_TYPES_FILE, await renderApiTypes())
  process.stdout.write(`wrote ${API_TYPES_FILE}\n`)
}
