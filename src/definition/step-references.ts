// `{{ steps.<id>... }}` naming a step the workflow does not have would read null at run time, with
// no word: such references are found at deploy time instead, from the expressions' syntax trees.

import type { Problem } from '../errors.js'
import { jsonata } from '../vendor/jsonata.js'
import { didYouMean } from './suggest.js'
import { splitTemplate } from './template.js'

interface Node {
  type?: string
  value?: unknown
  steps?: Node[]
}

/** The step ids an expression reads as `steps.<id>`. */
export function stepReferences(source: string): string[] {
  let ast: unknown
  try {
    ast = jsonata(source).ast()
  } catch {
    return [] // a syntax error is reported on its own
  }
  const found = new Set<string>()
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return
    if (Array.isArray(node)) {
      for (const item of node) visit(item)
      return
    }
    const { type, steps } = node as Node
    const [first, second] = steps ?? []
    if (type === 'path' && first?.type === 'name' && first.value === 'steps' && second?.type === 'name')
      found.add(String(second.value))
    for (const value of Object.values(node)) visit(value)
  }
  visit(ast)
  return [...found]
}

/** Every `steps.<id>` in the `{{ }}` expressions of `value` whose id is not one of `known`. */
export function unknownStepReferences(
  value: unknown,
  path: string,
  known: ReadonlySet<string>,
  owner: string,
): Problem[] {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return []
    return splitTemplate(value).flatMap((part) =>
      typeof part === 'string'
        ? []
        : stepReferences(part.source)
            .filter((id) => !known.has(id))
            .map((id) => ({
              path,
              message: `${owner}: steps.${id} names no step of this workflow${didYouMean(id, known)}`,
            })),
    )
  }
  if (Array.isArray(value))
    return value.flatMap((item, i) => unknownStepReferences(item, `${path}[${i}]`, known, owner))
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([key, item]) =>
      unknownStepReferences(item, `${path}.${key}`, known, owner),
    )
  return []
}
