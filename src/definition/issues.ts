// valibot issues as the engine's problems: a path like `steps[2].needs[0]` and a message.
import type * as v from 'valibot'
import type { Problem } from '../errors.js'
import { didYouMean } from './suggest.js'

export function issuePath(issue: v.BaseIssue<unknown>, prefix = ''): string {
  let path = prefix
  for (const item of issue.path ?? []) {
    const key = item.key as string | number
    path += typeof key === 'number' ? `[${key}]` : path ? `.${key}` : String(key)
  }
  return path || '$'
}

/** `schema`, when given, is the one the issues came from: an unknown key then names the closest known one. */
export function issuesToProblems(
  issues: readonly v.BaseIssue<unknown>[],
  prefix = '',
  schema?: v.GenericSchema,
): Problem[] {
  return issues.map((issue) => ({ path: issuePath(issue, prefix), message: issueMessage(issue, schema) }))
}

interface SchemaNode {
  type?: string
  wrapped?: SchemaNode
  entries?: Record<string, SchemaNode>
  item?: SchemaNode
  options?: SchemaNode[]
}

/** The keys an object schema knows, reached by `keys` from `schema` through wrappers, arrays and unions. */
export function keysAt(schema: unknown, keys: (string | number)[]): string[] {
  let nodes = [schema as SchemaNode]
  for (const key of [...keys, undefined]) {
    const next: SchemaNode[] = []
    const queue = [...nodes]
    while (queue.length > 0) {
      const node = queue.shift()!
      if (node.wrapped) queue.push(node.wrapped)
      else if (node.options) queue.push(...node.options)
      else if (key === undefined) next.push(node)
      else if (node.entries && typeof key === 'string' && node.entries[key]) next.push(node.entries[key])
      else if (node.item && typeof key === 'number') next.push(node.item)
    }
    nodes = next
  }
  return [...new Set(nodes.flatMap((node) => Object.keys(node.entries ?? {})))]
}

/** Unions report one vague issue; the nested ones say what is really wrong. */
function issueMessage(issue: v.BaseIssue<unknown>, schema?: v.GenericSchema): string {
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const path = (issue.path ?? []).map((item) => item.key as string | number)
    const key = String(path.at(-1))
    const known = schema ? keysAt(schema, path.slice(0, -1)) : []
    return `unknown key '${key}'${didYouMean(key, known)}`
  }
  if (issue.input === undefined && issue.message.startsWith('Invalid key')) return 'is required'
  return issue.message
}
