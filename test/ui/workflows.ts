// The workflows the UI tests deploy: one with every kind of step the graph marks, one that fails
// until a given time (so that a retry succeeds), one that waits for an approval, and a child.

export const NOTE_CHILD = {
  id: 'note-child',
  trigger: { uses: 'manual' },
  steps: [{ id: 'write', uses: 'data.set', with: { value: { noted: '{{ input }}' } } }],
}

export const SHOP_ORDER = {
  id: 'shop-order',
  name: 'Shop order',
  trigger: { uses: 'manual' },
  steps: [
    { id: 'receive', uses: 'data.set', with: { value: '{{ input }}' } },
    {
      id: 'lines',
      uses: 'data.set',
      needs: ['receive'],
      forEach: '{{ input.lines }}',
      with: { value: { sku: '{{ item.sku }}', amount: '{{ item.qty * item.price }}' } },
    },
    { id: 'pause', uses: 'flow.delay', needs: ['lines'], with: { for: '2s' } },
    {
      id: 'check',
      uses: 'flow.if',
      needs: ['pause'],
      with: { condition: '{{ $sum(steps.lines.output.amount) > 100 }}' },
    },
    { id: 'review', uses: 'data.set', needs: ['check:true'], with: { value: 'manual review' } },
    { id: 'auto', uses: 'data.set', needs: ['check:false'], with: { value: 'accepted' } },
    { id: 'done', uses: 'flow.merge', needs: ['review', 'auto'] },
    {
      id: 'note',
      uses: 'workflow.run',
      needs: ['done'],
      with: { workflow: 'note-child', input: '{{ input }}' },
    },
  ],
}

export const FLAKY = {
  id: 'flaky-check',
  trigger: { uses: 'manual' },
  steps: [
    {
      id: 'check',
      uses: 'code.run',
      with: {
        code: [
          "console.log('checking order', input.order)",
          "if (Date.now() < input.failUntil) throw new Error('the stock service is not ready')",
          'return { ok: true }',
        ].join('\n'),
      },
    },
    { id: 'done', uses: 'data.set', needs: ['check'], with: { value: 'checked' } },
  ],
}

export const APPROVAL = {
  id: 'approval',
  trigger: { uses: 'manual' },
  steps: [
    { id: 'prepare', uses: 'data.set', with: { value: '{{ input }}' } },
    { id: 'approval', uses: 'flow.wait', needs: ['prepare'], with: { signal: 'approval' } },
    { id: 'finish', uses: 'data.set', needs: ['approval'], with: { value: '{{ steps.approval.output }}' } },
  ],
}

export const RETRYING = {
  id: 'retrying',
  trigger: { uses: 'manual' },
  steps: [
    {
      id: 'flaky',
      uses: 'code.run',
      retry: { attempts: 3, delay: '300ms' },
      with: { code: "if (attempt < 3) throw new Error('not yet'); return { attempt }" },
    },
  ],
}

/** A step that works for 0.7 s, logs a line, then works for two seconds more before it ends. */
export const SLOW_LOGGER = {
  id: 'slow-logger',
  trigger: { uses: 'manual' },
  steps: [
    {
      id: 'work',
      uses: 'code.run',
      with: {
        code: [
          'const first = Date.now() + 700',
          'while (Date.now() < first) {}',
          "console.log('started the long part')",
          'const until = Date.now() + 2000',
          'while (Date.now() < until) {}',
          "console.log('done')",
          'return { ok: true }',
        ].join('\n'),
      },
    },
  ],
}
