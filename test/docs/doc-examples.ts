// The code blocks of README.md and docs/*.md, with the markers that say how a block is run.
//
// A marker is an HTML comment right before a fence (blank lines between are fine), so that readers
// of the rendered page never see it. Its text after `example` is YAML, with the fields of a
// conformance case:
//
//   <!-- example: { input: { name: Ada }, expect: { status: succeeded, output: { greeting: hello Ada } } } -->
//
// - before a ```yaml or ```json block: the block is run through the engine, with `input`, `signals`
//   (`[{ name, data }]`, sent up front), `workflows` (ids of other blocks in the same file, deployed
//   first) and `api` (a base URL that the test answers with a local stand-in). A block that is a
//   list of steps, or a mapping of only `steps`, runs as the steps of a manual workflow;
// - before a ```sh block: its commands are run by bash, `piecework` being the compiled CLI, in a folder holding the
//   file's blocks that open with a `# name.yaml` comment; `expect` holds `exit` (default 0), `run`
//   (a partial run, read from stdout) and `stdout` / `stderr` (texts they contain); `serve: true`
//   runs it with PIECEWORK_SERVER_URL naming a `piecework serve` that the test starts (one for
//   every such block, on a fresh database); `session: NAME` runs the file's blocks of that session
//   in document order in one bash, so that later blocks see the variables of earlier ones, against
//   one `piecework serve` that has deployed config/workflows/ (as `npm start` does), its address
//   written in place of `http://127.0.0.1:3000`; such a block needs no texts in `expect`.
//
// Several markers before one block run it several times. A whole workflow that cannot run offline
// says why instead: `<!-- not run: a schedule trigger -->`.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ROOT } from '../helpers/cases.js'

export interface Marker {
  input?: unknown
  signals?: { name: string; data?: unknown }[]
  workflows?: string[]
  api?: string
  /** A ```sh block that drives a server: run with PIECEWORK_SERVER_URL set to a `piecework serve`. */
  serve?: boolean
  /** A ```sh block run in document order with the file's other blocks of this session, against one server. */
  session?: string
  expect: Record<string, unknown>
}

export interface DocBlock {
  /** `docs/workflows.md:120`: where the fence opens. */
  where: string
  file: string
  lang: string
  text: string
  /** The block as data (yaml and json blocks), or the parse error's message. */
  value?: unknown
  parseError?: string
  markers: Marker[]
  notRun?: string
  /** A marker that follows no fence, or does not parse: a mistake in the docs. */
  problems: string[]
}

export const DOC_FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
]

const FENCE = /^```(\w*)\s*$/
const COMMENT = /^<!--\s*(example|not run)\b:?([\s\S]*?)-->\s*$/

/** Every fenced block of one markdown file, with the markers written before it. */
export function readBlocks(file: string): DocBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  const blocks: DocBlock[] = []
  let pending: { markers: Marker[]; notRun?: string; problems: string[]; line: number } | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.startsWith('<!--')) {
      let end = i
      while (end < lines.length && !lines[end]!.includes('-->')) end++
      const comment = COMMENT.exec(lines.slice(i, end + 1).join('\n'))
      if (comment) {
        pending ??= { markers: [], problems: [], line: i + 1 }
        if (comment[1] === 'not run') pending.notRun = comment[2]!.trim()
        else pending.markers.push(readMarker(comment[2]!, `${file}:${i + 1}`, pending.problems))
      }
      i = end
      continue
    }
    const fence = FENCE.exec(line)
    if (fence) {
      let end = i + 1
      while (end < lines.length && !lines[end]!.startsWith('```')) end++
      const block = toBlock(file, i + 1, fence[1] ?? '', lines.slice(i + 1, end).join('\n'))
      if (pending) {
        block.markers = pending.markers
        block.notRun = pending.notRun
        block.problems = pending.problems
      }
      blocks.push(block)
      pending = undefined
      i = end
      continue
    }
    if (line.trim() !== '' && pending) {
      blocks.push(orphan(file, pending.line, pending.problems))
      pending = undefined
    }
  }
  if (pending) blocks.push(orphan(file, pending.line, pending.problems))
  return blocks
}

function readMarker(text: string, where: string, problems: string[]): Marker {
  try {
    const marker = (parse(text) ?? {}) as Marker
    if (typeof marker !== 'object') throw new Error('is not a mapping')
    return { ...marker, expect: marker.expect ?? {} }
  } catch (error) {
    problems.push(`${where}: the example marker does not parse: ${(error as Error).message}`)
    return { expect: {} }
  }
}

function orphan(file: string, line: number, problems: string[]): DocBlock {
  const where = `${file}:${line}`
  return {
    where,
    file,
    lang: '',
    text: '',
    markers: [],
    problems: [...problems, `${where}: a marker before no code block`],
  }
}

function toBlock(file: string, line: number, lang: string, text: string): DocBlock {
  const block: DocBlock = { where: `${file}:${line}`, file, lang, text, markers: [], problems: [] }
  if (lang !== 'yaml' && lang !== 'json') return block
  try {
    block.value = parse(text)
  } catch (error) {
    block.parseError = (error as Error).message.split('\n')[0]
  }
  return block
}

/** A block's definition: whole workflows as written, steps inside a manual workflow of their own. */
export function definitionOf(block: DocBlock): Record<string, unknown> | undefined {
  const value = block.value
  const slug = `example-${block.where.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`
  if (Array.isArray(value)) return { id: slug, trigger: { uses: 'manual' }, steps: value }
  if (!value || typeof value !== 'object') return undefined
  const keys = Object.keys(value)
  if (keys.length === 1 && keys[0] === 'steps') return { id: slug, trigger: { uses: 'manual' }, ...value }
  if (keys.includes('id') && keys.includes('trigger') && keys.includes('steps'))
    return value as Record<string, unknown>
  return undefined
}

/** A whole workflow as written (not a fragment of one). */
export function isWholeWorkflow(block: DocBlock): boolean {
  const value = block.value as Record<string, unknown> | undefined
  return !!value && typeof value === 'object' && 'id' in value && 'trigger' in value && 'steps' in value
}

/** `# hello.yaml` on a block's first line: the name of the file the docs have the reader save it as. */
export function fileNameOf(block: DocBlock): string | undefined {
  return /^#\s*([\w./-]+\.(?:ya?ml|json))\s*$/.exec(block.text.split('\n')[0] ?? '')?.[1]
}
