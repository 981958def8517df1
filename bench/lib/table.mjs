// The printed report: one row per figure with its median, its target and how far it is from it.

/**
 * A figure as every bench returns it.
 * @typedef {object} Row
 * @property {string} figure      what is measured
 * @property {number|null} value  the median of the repetitions (null when skipped or failed)
 * @property {string} unit
 * @property {{ op: '<=' | '>=', value: number } | null} target
 * @property {number[]} [samples] every repetition's value
 * @property {string} [notes]
 * @property {string} [skipped]   why there is no value
 * @property {string} [how]       how the figure is defined, printed under the table
 */

export function formatValue(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—'
  const digits = Math.abs(value) >= 1000 ? 0 : Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 1 : 2
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
  return unit ? `${text} ${unit}` : text
}

/** `✓` or `✗`, and the value as a multiple of the target where that means something. */
export function verdict(row) {
  if (row.skipped) return `skipped: ${row.skipped}`
  if (row.value === null || row.value === undefined || !row.target) return ''
  const { op, value: target } = row.target
  const ok = op === '<=' ? row.value <= target : row.value >= target
  const mark = ok ? '✓' : '✗'
  if (target === 0) return mark
  return `${mark} ${(row.value / target).toFixed(2)}× target`
}

export function formatTarget(row) {
  if (!row.target) return ''
  return `${row.target.op === '<=' ? '≤' : '≥'} ${formatValue(row.target.value, row.unit)}`
}

function pad(text, width) {
  return text + ' '.repeat(Math.max(0, width - [...text].length))
}

/** A plain-text table; long notes wrap under the row rather than widen it. */
export function renderTable(rows, { title, machine } = {}) {
  const header = ['figure', 'median', 'target', 'vs target', 'notes']
  const cells = rows.map((row) => [
    row.figure,
    row.skipped ? '—' : formatValue(row.value, row.unit),
    formatTarget(row),
    verdict(row),
    row.notes ?? '',
  ])
  const widths = header
    .slice(0, 4)
    .map((h, i) => Math.max([...h].length, ...cells.map((c) => [...c[i]].length)))
  const line = (c) =>
    c
      .slice(0, 4)
      .map((text, i) => pad(text, widths[i]))
      .join(' │ ')
  const out = []
  if (title) out.push(title, '')
  out.push(`${line(header)} │ notes`)
  out.push(`${widths.map((w) => '─'.repeat(w)).join('─┼─')}─┼─${'─'.repeat(40)}`)
  for (const c of cells) out.push(`${line(c)} │ ${c[4]}`)
  // one line per definition: the same figure on two databases is defined once
  const defined = new Map()
  for (const row of rows) if (row.how && !defined.has(row.how)) defined.set(row.how, row.figure)
  if (defined.size > 0) {
    out.push('', 'how:')
    for (const [how, figure] of defined) out.push(`  ${figure.replace(/ \(.*\)$/, '')}: ${how}`)
  }
  if (machine) {
    out.push('')
    out.push(
      `machine: ${machine.cores} cores, ${machine.cpu}, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}`,
    )
  }
  return out.join('\n')
}
