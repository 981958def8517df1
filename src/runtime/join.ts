// The join rules: when a step's mailbox lets it run, or tells it that it will never run. They read
// counts, not the mailbox itself, so that each message a step receives costs O(1) however many it
// needs (a 10,000-way fan-in decides 10,000 times).
import type { Edge } from '../definition/graph.js'
import type { Message } from './state.js'

export type JoinDecision = 'wait' | 'run' | 'skip'

/** What a join decides on: how many needs a step has, how many resolved, and how many of those delivered. */
export interface JoinCount {
  needs: number
  resolved: number
  delivered: number
}

/**
 * `all`: ready once every need resolved; runs if at least one delivered, else skipped.
 * `any`: runs on the first delivery; skipped once every need resolved without one.
 */
export function joinDecision(count: JoinCount, join: 'all' | 'any'): JoinDecision {
  if (join === 'any' && count.delivered > 0) return 'run'
  if (count.resolved < count.needs) return 'wait'
  return count.delivered > 0 ? 'run' : 'skip'
}

/** `input` is the first delivering need in `needs` order; `inputs` holds every delivery by step id. */
export function stepInputs(
  needs: readonly Edge[],
  mailbox: readonly Message[],
  triggerOutput: unknown,
): { input: unknown; inputs: Record<string, unknown> } {
  if (needs.length === 0) return { input: triggerOutput, inputs: {} }
  // one pass over the mailbox, one over the needs: a wide join reads each message once
  const deliveries = new Map<string, Map<string, Message>>()
  for (const message of mailbox) {
    if (!message.delivered) continue
    const byHandle = deliveries.get(message.from) ?? new Map<string, Message>()
    if (!byHandle.has(message.handle)) byHandle.set(message.handle, message)
    deliveries.set(message.from, byHandle)
  }
  const inputs: Record<string, unknown> = {}
  let input: unknown
  let found = false
  for (const edge of needs) {
    const message = deliveries.get(edge.from)?.get(edge.handle)
    if (!message) continue
    if (!found) {
      input = message.value
      found = true
    }
    if (!(edge.from in inputs)) inputs[edge.from] = message.value
  }
  return { input: found ? input : null, inputs }
}

/**
 * Each started step of a run's record gets the `input` it was given, rebuilt from what its needs
 * stored: the handle each fired and its output (what a restored run's mailboxes are replayed from).
 */
export function withStoredInputs(
  steps: { id: string; status: string; handle?: string; output: unknown; input?: unknown }[],
  needsOf: ReadonlyMap<string, readonly Edge[]>,
  triggerOutput: unknown,
): void {
  const byId = new Map(steps.map((s) => [s.id, s]))
  for (const step of steps) {
    if (step.status === 'pending' || step.status === 'skipped') continue
    const needs = needsOf.get(step.id) ?? []
    const mailbox: Message[] = []
    for (const edge of needs) {
      const source = byId.get(edge.from)
      if (source?.handle === undefined) continue
      const delivered = source.handle === edge.handle
      mailbox.push({
        from: edge.from,
        handle: edge.handle,
        delivered,
        value: delivered ? source.output : undefined,
      })
    }
    step.input = stepInputs(needs, mailbox, triggerOutput).input
  }
}
