// The workflows the benches run, as plain definitions (the same format as config/workflows/*.yaml).

/** `n` data.set steps in a line, each needing the one before. */
export function chain(id, n, trigger = { uses: 'manual' }, last = { i: n }) {
  const steps = []
  for (let i = 1; i <= n; i++) {
    steps.push({
      id: `s${i}`,
      uses: 'data.set',
      ...(i > 1 ? { needs: [`s${i - 1}`] } : {}),
      with: { value: i === n ? last : { i } },
    })
  }
  return { id, trigger, steps, output: `{{ steps.s${n}.output }}` }
}

/** What the webhook chain answers: the value of its last step. */
export const WEBHOOK_ANSWER = { ok: true, steps: 5 }

/** POST /hooks/<path> → 5 data.set steps → answered when the run completes. */
export function webhookChain(id = 'bench-hook', path = 'bench') {
  return chain(id, 5, { uses: 'webhook', with: { path, respond: 'onComplete' } }, WEBHOOK_ANSWER)
}

/** The step ids of the realistic webhook, in order; each adds its own field to what it is given. */
export const REALISTIC_STEPS = ['s1', 's2', 's3', 's4', 's5']

/**
 * POST /hooks/<path> with `{ order }` → 5 data.set steps in a line, each merging one field into the
 * output of the step before (the first into the request's body) with an expression → answered with
 * the last step's output when the run completes.
 */
export function realisticWebhook(id = 'realistic-hook', path = 'orders') {
  const steps = REALISTIC_STEPS.map((step, i) => {
    // the first step is fed the trigger's output, whose `body` is the request's JSON
    const input = i === 0 ? 'input.body' : 'input'
    const previous = i === 0 ? 'order' : REALISTIC_STEPS[i - 1]
    return {
      id: step,
      uses: 'data.set',
      ...(i > 0 ? { needs: [REALISTIC_STEPS[i - 1]] } : {}),
      with: { value: `{{ $merge([${input}, {"${step}": ${input}.${previous} + 1}]) }}` },
    }
  })
  return {
    id,
    trigger: { uses: 'webhook', with: { path, respond: 'onComplete' } },
    steps,
    output: `{{ steps.${REALISTIC_STEPS.at(-1)}.output }}`,
  }
}

/** What the realistic webhook answers to `{ order }`, written out (the check must not share code with the work). */
export function realisticAnswer(order) {
  return { order, s1: order + 1, s2: order + 2, s3: order + 3, s4: order + 4, s5: order + 5 }
}

/** A `code.run` body that keeps its worker's CPU busy for `ms`, checking the clock as it spins. */
export function burnCode(ms) {
  return [
    `const end = Date.now() + ${ms}`,
    'let spins = 0',
    'while (Date.now() < end) spins++',
    'return { spins }',
  ].join('\n')
}

export function burnWorkflow(id, ms) {
  return {
    id,
    trigger: { uses: 'manual' },
    steps: [{ id: 'burn', uses: 'code.run', with: { code: burnCode(ms) } }],
  }
}

/** A run that parks on one durable timer and then sets a value. */
export function parkedWorkflow(id, delay) {
  return {
    id,
    trigger: { uses: 'manual' },
    steps: [
      { id: 'wait', uses: 'flow.delay', with: { for: delay } },
      { id: 'after', uses: 'data.set', needs: ['wait'], with: { value: { woke: true } } },
    ],
  }
}

/** One data.set step with `forEach` over `input.xs`: each item doubled, `concurrency` at a time. */
export function forEachWorkflow(id, concurrency) {
  const items = '{{ input.xs }}'
  return {
    id,
    trigger: { uses: 'manual' },
    steps: [
      {
        id: 'double',
        uses: 'data.set',
        forEach: concurrency === undefined ? items : { items, concurrency },
        with: { value: '{{ item * 2 }}' },
      },
    ],
    output: '{{ { "count": $count(steps.double.output), "last": steps.double.output[-1] } }}',
  }
}

/** A data.set step that adds one to `n` of its input. */
function increment(id, needs) {
  return {
    id,
    uses: 'data.set',
    ...(needs ? { needs: [needs] } : {}),
    with: { value: { n: '{{ input.n + 1 }}' } },
  }
}

/**
 * Sub-workflows three levels deep: `<prefix>-a` calls `<prefix>-b`, which calls `<prefix>-c` (each
 * call a workflow.run between two increments; c is two increments), and the same six increments in
 * one line (`<prefix>-inline`). Every one of them answers `{ n: input.n + 6 }`.
 */
export function subWorkflowChain(prefix) {
  const level = (name, callee) => ({
    id: `${prefix}-${name}`,
    trigger: { uses: 'manual' },
    steps: callee
      ? [
          increment('first'),
          { id: 'call', uses: 'workflow.run', needs: ['first'], with: { workflow: `${prefix}-${callee}` } },
          increment('last', 'call'),
        ]
      : [increment('first'), increment('last', 'first')],
    output: '{{ steps.last.output }}',
  })
  const inline = {
    id: `${prefix}-inline`,
    trigger: { uses: 'manual' },
    steps: [1, 2, 3, 4, 5, 6].map((i) => increment(`s${i}`, i > 1 ? `s${i - 1}` : undefined)),
    output: '{{ steps.s6.output }}',
  }
  return { top: level('a', 'b'), all: [level('c'), level('b', 'c'), level('a', 'b'), inline], inline }
}

/** A run that waits for the signal `go` (no timeout) and then sets a value from its data. */
export function signalWorkflow(id) {
  return {
    id,
    trigger: { uses: 'manual' },
    steps: [
      { id: 'wait', uses: 'flow.wait', with: { signal: 'go' } },
      { id: 'after', uses: 'data.set', needs: ['wait'], with: { value: { woke: '{{ input }}' } } },
    ],
    output: '{{ steps.after.output }}',
  }
}

/** An idempotent POST to the counting server, tagged with the run and the step. */
function effect(id, needs, url) {
  return {
    id,
    uses: 'http.request',
    ...(needs.length ? { needs } : {}),
    with: { method: 'POST', url: `${url}/${id}`, idempotent: true, body: { run: '{{ run.id }}', step: id } },
  }
}

/** effect → durable delay → effect: what the recovery bench kills and restarts. */
export function recoveryWorkflow(id, delay, countingUrl) {
  return {
    id,
    trigger: { uses: 'manual' },
    steps: [
      effect('before', [], countingUrl),
      { id: 'pause', uses: 'flow.delay', needs: ['before'], with: { for: delay } },
      effect('after', ['pause'], countingUrl),
    ],
  }
}

/** `n` data.set roots and one flow.merge that needs every one of them: an `n`-way fan-in. */
export function fanIn(id, n) {
  const steps = []
  for (let i = 0; i < n; i++) steps.push({ id: `s${i}`, uses: 'data.set', with: { value: i } })
  steps.push({ id: 'merge', uses: 'flow.merge', needs: steps.map((s) => s.id) })
  return { id, trigger: { uses: 'manual' }, steps, output: '{{ $count($keys(steps.merge.output)) }}' }
}
