// Signals sent to runs: shared by the runtime, which delivers them to steps, and the store, which
// keeps them until a step takes them.

/** A signal sent to a run and not taken yet, in the order it was stored. */
export interface BufferedSignal {
  id: number
  name: string
  data: unknown
}

/** The name of the signal a run's end sends to the parent that waits for it. */
export const childSignal = (childRunId: string) => `child:${childRunId}`
