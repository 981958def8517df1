// valibot issues as the engine's problems: a path like `steps[2].needs[0]` and a message.
import type * as v from 'valibot'
import type { Problem } from '../errors.js'

export function issuePath(issue: v.BaseIssue<unknown>, prefix = ''): string {
  let path = prefix
  for (const item of issue.path ?? []) {
    const key = item.key as string | number
    path += typeof key === 'number' ? `[${key}]` : path ? `.${key}` : String(key)
  }
  return path || '$'
}

export function issuesToProblems(issues: readonly v.BaseIssue<unknown>[], prefix = ''): Problem[] {
  return issues.map((issue) => ({ path: issuePath(issue, prefix), message: issueMessage(issue) }))
}

/** Unions report one vague issue; the nested ones say what is really wrong. */
function issueMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const key = issue.path?.[issue.path.length - 1]?.key
    return `unknown key '${String(key)}'`
  }
  if (issue.input === undefined && issue.message.startsWith('Invalid key')) return 'is required'
  return issue.message
}
