// The workflows the durability suites deploy: delays, parallel branches joined by flow.merge, code
// that burns CPU, and idempotent HTTP side effects against the test's side-effect server.

/** A `code.run` body that keeps a worker busy for `ms` of wall time, then returns `result`. */
export function burn(ms: number, result = '{ n: input.n, spins }'): string {
  return [
    `const end = Date.now() + ${ms}`,
    'let spins = 0',
    'while (Date.now() < end) spins++',
    `return ${result}`,
  ].join('\n')
}

/** An idempotent POST to the side-effect server, telling it which run and step it comes from. */
export function effect(id: string, needs: string[], url: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    uses: 'http.request',
    needs,
    with: {
      method: 'POST',
      url: `${url}/effects/${id}`,
      idempotent: true,
      body: { run: '{{ run.id }}', step: id, ...extra },
    },
  }
}

export interface CrashWorkflow {
  definition: Record<string, unknown>
  /** Steps with a side effect: each must have called the side-effect server. */
  httpSteps: string[]
  /** The run's output for run `id` and its input `n`. */
  output: (id: string, n: number) => unknown
}

/** code → http → delay → http: a chain whose delay (from the input) may passivate the run. */
export function chainWorkflow(url: string): CrashWorkflow {
  return {
    httpSteps: ['charge', 'notify'],
    output: (id, n) => ({ n, notified: `${id}:notify` }),
    definition: {
      id: 'crash-chain',
      trigger: { uses: 'manual' },
      steps: [
        { id: 'prep', uses: 'code.run', with: { code: burn(15) } },
        effect('charge', ['prep'], url, { n: '{{ steps.prep.output.n }}' }),
        { id: 'pause', uses: 'flow.delay', needs: ['charge'], with: { for: '{{ trigger.delayMs }}' } },
        effect('notify', ['pause'], url, { charged: '{{ steps.charge.output.body.call }}' }),
      ],
      output: '{{ { "n": steps.prep.output.n, "notified": steps.notify.output.body.key } }}',
    },
  }
}

/** Three parallel branches (an effect, a delay then an effect, CPU then an effect) merged, then one more. */
export function fanoutWorkflow(url: string): CrashWorkflow {
  return {
    httpSteps: ['a', 'b', 'c', 'final'],
    output: (id, n) => ({ n, final: `${id}:final` }),
    definition: {
      id: 'crash-fanout',
      trigger: { uses: 'manual' },
      steps: [
        { id: 'split', uses: 'code.run', with: { code: burn(10) } },
        effect('a', ['split'], url),
        { id: 'b_wait', uses: 'flow.delay', needs: ['split'], with: { for: '{{ trigger.delayMs }}' } },
        effect('b', ['b_wait'], url),
        { id: 'c_burn', uses: 'code.run', needs: ['split'], with: { code: burn(40) } },
        effect('c', ['c_burn'], url, { spins: '{{ steps.c_burn.output.spins }}' }),
        { id: 'join', uses: 'flow.merge', needs: ['a', 'b', 'c'] },
        effect('final', ['join'], url, { branches: '{{ $keys(input) }}' }),
      ],
      output: '{{ { "n": steps.split.output.n, "final": steps.final.output.body.key } }}',
    },
  }
}
