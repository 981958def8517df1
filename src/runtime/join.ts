// The join rules: when a step's mailbox lets it run, or tells it that it will never run.
import type { Edge } from '../definition/graph.js'
import type { Message } from './state.js'

export type JoinDecision = 'wait' | 'run' | 'skip'

function messageFor(edge: Edge, mailbox: readonly Message[]): Message | undefined {
  return mailbox.find((m) => m.from === edge.from && m.handle === edge.handle)
}

/**
 * `all`: ready once every need resolved; runs if at least one delivered, else skipped.
 * `any`: runs on the first delivery; skipped once every need resolved without one.
 */
export function joinDecision(
  needs: readonly Edge[],
  mailbox: readonly Message[],
  join: 'all' | 'any',
): JoinDecision {
  let resolved = 0
  let delivered = 0
  for (const edge of needs) {
    const message = messageFor(edge, mailbox)
    if (!message) continue
    resolved++
    if (message.delivered) delivered++
  }
  if (join === 'any' && delivered > 0) return 'run'
  if (resolved < needs.length) return 'wait'
  return delivered > 0 ? 'run' : 'skip'
}

/** `input` is the first delivering need in `needs` order; `inputs` holds every delivery by step id. */
export function stepInputs(
  needs: readonly Edge[],
  mailbox: readonly Message[],
  triggerOutput: unknown,
): { input: unknown; inputs: Record<string, unknown> } {
  if (needs.length === 0) return { input: triggerOutput, inputs: {} }
  const inputs: Record<string, unknown> = {}
  let input: unknown
  let found = false
  for (const edge of needs) {
    const message = messageFor(edge, mailbox)
    if (!message?.delivered) continue
    if (!found) {
      input = message.value
      found = true
    }
    if (!(edge.from in inputs)) inputs[edge.from] = message.value
  }
  return { input: found ? input : null, inputs }
}
