// Signals sent to runs: shared by the runtime, which delivers them to steps, and the store, which
// keeps them until a step takes them.

/** A signal sent to a run and not taken yet, in the order it was stored. */
export interface BufferedSignal {
  id: number
  name: string
  data: unknown
}

/**
 * The name of the signal a child run's end sends to the step of its parent that waits for it (the
 * data says which child: a `forEach` step's items each wait for one). User signal names hold no `:`.
 */
export const childSignal = (parentStepId: string) => `child:${parentStepId}`
