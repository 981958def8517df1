// The hostile shapes a careless or malicious workflow can take, each with the code its run must fail
// with. Used against `piecework serve` and `piecework run` alike.

export interface HostileShape {
  name: string
  code: string
  /** Where the shape is an expression rather than code: the `data.set` value. */
  expression?: string
  onError?: 'continue'
  expect: string[]
}

export const HOSTILE_TIMEOUT_S = 8

/**
 * Shapes that grow the heap step by step end with MEMORY once V8 gives up, after full collections
 * of a heap near its limit; on a busy machine those can take past the step's timeout: TIMEOUT.
 */
export const GROWING = ['MEMORY', 'TIMEOUT']

export const HOSTILE_SHAPES: HostileShape[] = [
  {
    name: 'map',
    code: 'const m = new Map(); let i = 0; for (;;) m.set(i++, { i, s: "x" + i })',
    expect: GROWING,
  },
  { name: 'array', code: 'return new Array(2 ** 27).fill(0).length', expect: GROWING },
  { name: 'array-from', code: 'return Array.from({ length: 2e8 }).length', expect: GROWING },
  { name: 'repeat', code: "return 'x'.repeat(5e8)", expect: ['MEMORY', 'OUTPUT_TOO_LARGE'] },
  // the array of 2^28 strings grows as split fills it
  { name: 'split', code: "return 'x'.repeat(2 ** 28).split('').length", expect: GROWING },
  {
    name: 'typed-arrays',
    code: 'const k = []; for (let i = 0; i < 48; i++) k.push(new Uint8Array(64 * 1024 * 1024).fill(1)); return k.length',
    expect: ['MEMORY'],
  },
  {
    name: 'array-buffer',
    code: 'const b = new ArrayBuffer(2 ** 31); new Uint8Array(b).fill(1); return b.byteLength',
    expect: ['MEMORY'],
  },
  {
    name: 'json-parse',
    code: "return JSON.parse('[' + '1,'.repeat(2 ** 26) + '1]').length",
    expect: GROWING,
  },
  { name: 'cpu-loop', code: 'for (;;) {}', expect: ['TIMEOUT'] },
  {
    name: 'log-flood',
    code: "const line = 'y'.repeat(1024 * 1024); const end = Date.now() + 2000; while (Date.now() < end) console.log(line); throw new Error('flooded')",
    expect: ['CODE'],
  },
  {
    name: 'huge-error',
    code: "throw new Error('x'.repeat(2 ** 26))",
    onError: 'continue',
    expect: ['CODE'],
  },
  {
    name: 'expression-recursion',
    code: '',
    expression: '{{ ( $f := function($n){ $f($n + 1) }; $f(0) ) }}',
    expect: ['EXPRESSION'],
  },
  { name: 'expression-range', code: '', expression: '{{ $count([1..100000000]) }}', expect: ['EXPRESSION'] },
]

/** The workflow of one shape: its one step, with a short timeout. */
export function hostileWorkflow(shape: HostileShape, id = `hostile-${shape.name}`) {
  const step = shape.expression
    ? { id: 'bomb', uses: 'data.set', with: { value: shape.expression } }
    : {
        id: 'bomb',
        uses: 'code.run',
        timeout: `${HOSTILE_TIMEOUT_S}s`,
        ...(shape.onError ? { onError: shape.onError } : {}),
        with: { code: shape.code },
      }
  const steps: object[] = [step]
  // a failure let through by onError: continue ends the run here, with the step's bounded error
  if (shape.onError)
    steps.push({
      id: 'after',
      uses: 'flow.fail',
      needs: ['bomb'],
      with: { code: 'CODE', message: 'after: {{ $substring(input.error.message, 0, 50) }}' },
    })
  return { id, trigger: { uses: 'manual' }, steps }
}

/** An ordinary workflow: small code steps and delays, a few seconds long. */
export const ORDINARY = {
  id: 'ordinary',
  trigger: { uses: 'manual' },
  steps: [
    { id: 'a', uses: 'code.run', with: { code: 'return { n: (input?.n ?? 0) + 1 }' } },
    { id: 'wait', uses: 'flow.delay', needs: ['a'], with: { for: '500ms' } },
    { id: 'b', uses: 'code.run', needs: ['wait'], with: { code: 'return { n: steps.a.output.n * 2 }' } },
    {
      id: 'c',
      uses: 'code.run',
      needs: ['b'],
      with: { code: 'let s = 0; for (let i = 0; i < 1e5; i++) s += i; return { n: input.n, s }' },
    },
  ],
  output: '{{ steps.c.output }}',
}
