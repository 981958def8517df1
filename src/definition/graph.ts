// Graph checks on a workflow's steps: duplicate ids, needs naming missing steps or handles, cycles.
// Pure: takes ids, needs and each step's handles, returns every problem found.
import type { Problem } from '../errors.js'

export interface Edge {
  from: string
  handle: string
}

export interface GraphNode {
  id: string
  needs: string[]
  /** The handles this step may fire, or undefined when unknown (its piece is unknown). */
  handles: string[] | undefined
}

export function parseNeed(need: string): Edge {
  const colon = need.indexOf(':')
  return colon < 0
    ? { from: need, handle: 'out' }
    : { from: need.slice(0, colon), handle: need.slice(colon + 1) }
}

export function checkGraph(nodes: GraphNode[]): Problem[] {
  const problems: Problem[] = []
  const byId = new Map<string, GraphNode>()
  nodes.forEach((node, i) => {
    if (byId.has(node.id))
      problems.push({ path: `steps[${i}].id`, message: `duplicate step id '${node.id}'` })
    else byId.set(node.id, node)
  })
  nodes.forEach((node, i) => {
    const seen = new Set<string>()
    node.needs.forEach((need, j) => {
      const path = `steps[${i}].needs[${j}]`
      const edge = parseNeed(need)
      const source = byId.get(edge.from)
      if (seen.has(need)) problems.push({ path, message: `step '${node.id}' needs '${need}' twice` })
      seen.add(need)
      if (!source) {
        problems.push({
          path,
          message: `step '${node.id}' needs '${edge.from}', which is not a step of this workflow`,
        })
      } else if (edge.from === node.id) {
        problems.push({ path, message: `step '${node.id}' needs itself: a cycle` })
      } else if (source.handles && !source.handles.includes(edge.handle)) {
        problems.push({
          path,
          message: `step '${edge.from}' has no handle '${edge.handle}' (it has: ${source.handles.join(', ')})`,
        })
      }
    })
  })
  const order = new Map(nodes.map((n, i) => [n.id, i]))
  for (const found of findCycles(byId)) {
    // start the cycle at the step written first, keeping the direction data flows
    const first = found.reduce((best, id, i) => (order.get(id)! < order.get(found[best]!)! ? i : best), 0)
    const cycle = [...found.slice(first), ...found.slice(0, first)]
    const index = order.get(cycle[0]!)!
    problems.push({
      path: `steps[${index}].needs`,
      message: `steps ${cycle.join(', ')} form a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
    })
  }
  return problems
}

/** Strongly connected components of two or more steps (Tarjan), each in dependency order. */
export function findCycles(byId: Map<string, GraphNode>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const cycles: string[][] = []
  let counter = 0
  const visit = (id: string): void => {
    index.set(id, counter)
    low.set(id, counter++)
    stack.push(id)
    onStack.add(id)
    for (const need of byId.get(id)?.needs ?? []) {
      const from = parseNeed(need).from
      if (!byId.has(from) || from === id) continue
      if (!index.has(from)) {
        visit(from)
        low.set(id, Math.min(low.get(id)!, low.get(from)!))
      } else if (onStack.has(from)) low.set(id, Math.min(low.get(id)!, index.get(from)!))
    }
    if (low.get(id) === index.get(id)) {
      const component: string[] = []
      let member: string | undefined
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== id)
      if (component.length > 1) cycles.push(component)
    }
  }
  for (const node of byId.values()) if (!index.has(node.id)) visit(node.id)
  return cycles
}
