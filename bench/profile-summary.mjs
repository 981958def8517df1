// Summarises V8 CPU profiles (`node --cpu-prof`, or a bench's `--profile`): the functions with the
// most self time, the packages or source folders they belong to, and the piecework functions with
// the most inclusive time (their own and their callees', per resumption of an async function).
// Usage: node bench/profile-summary.mjs <file.cpuprofile>… [--top=25] [--skip-ms=N]
import { readFileSync } from 'node:fs'

function where(url) {
  if (!url) return '(native/vm)'
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  if (url.startsWith('node:')) return 'node core'
  const dist = url.indexOf('/dist/')
  if (dist >= 0)
    return url
      .slice(dist + 6)
      .split('/')
      .slice(0, 2)
      .join('/')
  return url.replace(/^file:\/\//, '')
}

/** `skipMs` leaves out the first milliseconds of the profile (a process's start-up). */
/** A frame's file: the path under node_modules or dist/, for reading the line it names. */
function file(url) {
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) return url.slice(nm + 13)
  const dist = url.indexOf('/dist/')
  if (dist >= 0) return `dist/${url.slice(dist + 6)}`
  return url.replace(/^file:\/\//, '')
}

export function summarise(profile, top = 25, skipMs = 0) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
  const keyOf = (node) =>
    `${node.callFrame.functionName || '(anonymous)'}\u0000${node.callFrame.url}\u0000${node.callFrame.lineNumber + 1}`
  const inclusive = new Map()
  const self = new Map()
  const gaps = profile.timeDeltas
  let at = 0
  for (let i = 0; i < profile.samples.length; i++) {
    at += gaps[i] ?? 0
    if (at < skipMs * 1000) continue
    const node = byId.get(profile.samples[i])
    const key = keyOf(node)
    self.set(key, (self.get(key) ?? 0) + (gaps[i] ?? 0))
    const seen = new Set()
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)
      const url = frame.callFrame.url
      if (!url.includes('/dist/') || url.includes('/node_modules/')) continue
      const k = keyOf(frame)
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + (gaps[i] ?? 0))
    }
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const functions = [...self.entries()]
    .map(([key, us]) => {
      const [name, url, line] = key.split('\u0000')
      return {
        name,
        where: url ? `${file(url)}:${line}` : where(url),
        group: where(url),
        ms: us / 1000,
        share: us / total,
      }
    })
    .sort((a, b) => b.ms - a.ms)
  const groups = new Map()
  for (const f of functions) groups.set(f.group, (groups.get(f.group) ?? 0) + f.ms)
  const own = [...inclusive.entries()]
    .map(([key, us]) => {
      const [name, url, line] = key.split('\u0000')
      return { name, where: `${file(url)}:${line}`, ms: us / 1000, share: us / total }
    })
    .sort((a, b) => b.ms - a.ms)
  return {
    totalMs: total / 1000,
    inclusive: own.slice(0, top),
    functions: functions.slice(0, top),
    groups: [...groups.entries()]
      .map(([group, ms]) => ({ group, ms, share: ms / (total / 1000) }))
      .sort((a, b) => b.ms - a.ms),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25)
  const skipMs = Number(process.argv.find((a) => a.startsWith('--skip-ms='))?.slice(10) ?? 0)
  for (const file of process.argv.slice(2).filter((a) => !a.startsWith('--'))) {
    const s = summarise(JSON.parse(readFileSync(file, 'utf8')), top, skipMs)
    console.log(`\n${file}: ${s.totalMs.toFixed(0)} ms sampled`)
    console.log('  by package / folder:')
    for (const g of s.groups.slice(0, 12))
      console.log(
        `    ${(g.share * 100).toFixed(1).padStart(5)}%  ${g.ms.toFixed(0).padStart(6)} ms  ${g.group}`,
      )
    console.log('  functions by self time:')
    for (const f of s.functions)
      console.log(
        `    ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`,
      )
    if (s.inclusive.length > 0) console.log('  piecework functions by inclusive time:')
    for (const f of s.inclusive)
      console.log(
        `    ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`,
      )
  }
}
