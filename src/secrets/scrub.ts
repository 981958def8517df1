// The last guard between runs and the database: every text column of a checkpoint batch (outputs,
// errors, inputs, log lines, signal data) is scrubbed of secret values before it is written. Step
// answers and log lines are scrubbed earlier, as they arrive (src/runtime/dispatch.ts); this catches
// whatever an expression made of a secret on the engine's own thread.
import type { Batch, CheckpointExecutor } from '../store/checkpoints.js'
import type { StepReply } from '../workers/protocol.js'
import type { Redactor } from '../workers/redact.js'

type Scrub = <T extends string | null | undefined>(text: T) => T

export function scrubbingExecutor(
  executor: CheckpointExecutor,
  redactor: () => Redactor,
): CheckpointExecutor {
  return {
    commit(batch) {
      const r = redactor()
      return executor.commit(
        r.empty ? batch : scrubBatch(batch, (text) => (text ? r.text(text) : text) as never),
      )
    },
  }
}

function scrubBatch(batch: Batch, s: Scrub): Batch {
  return {
    ...batch,
    newRuns: batch.newRuns.map((r) => ({ ...r, input: s(r.input), output: s(r.output), error: s(r.error) })),
    runs: batch.runs.map((r) => ({ ...r, output: s(r.output), error: s(r.error) })),
    steps: batch.steps.map((r) => ({
      ...r,
      output: s(r.output),
      error: s(r.error),
      wait_key: s(r.wait_key),
    })),
    logs: batch.logs.map((r) => ({ ...r, msg: s(r.msg), data: s(r.data) })),
    items: batch.items.map((r) => ({ ...r, output: s(r.output), error: s(r.error) })),
    signals: batch.signals.map((r) => ({ ...r, data: s(r.data) })),
  }
}

/**
 * A step's answer with every secret value replaced, whatever its kind. Its JSON texts are scrubbed
 * as text (the escaped forms of a value are among those scrubbed), not parsed and written again.
 */
export function scrubReply(reply: StepReply, redactor: Redactor): StepReply {
  if (redactor.empty) return reply
  if (!reply.ok) return { ok: false, error: redactor.value(reply.error) }
  switch (reply.kind) {
    case 'child':
      return { ...reply, input: redactor.text(reply.input) }
    case 'wait': {
      const signal =
        reply.signal?.key === undefined
          ? reply.signal
          : { ...reply.signal, key: redactor.text(reply.signal.key) }
      return { ...reply, json: redactor.text(reply.json), signal }
    }
    default:
      return { ...reply, json: redactor.text(reply.json) }
  }
}
