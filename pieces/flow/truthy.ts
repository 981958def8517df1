// JSONata's truthiness ($boolean): empty strings, 0, null, empty arrays and objects are false.
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined) return false
  if (Array.isArray(value)) return value.some(truthy)
  if (typeof value === 'object') return Object.keys(value).length > 0
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value)
  if (typeof value === 'string') return value.length > 0
  return Boolean(value)
}
