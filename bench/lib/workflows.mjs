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
