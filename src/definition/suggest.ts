// "Did you mean": the known name closest to a mistyped one, when it is close enough to be the one
// meant (an edit distance of at most a third of its length, and at least 1, for words of three
// letters or more). Pure.

/** Levenshtein distance, with one row of memory. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const swap = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + swap)
    }
    previous = row
  }
  return previous[b.length]!
}

/** The candidate closest to `word`, if one is close enough; ties go to the first. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  // a word of one or two letters is too short to guess from
  const limit = word.length < 3 ? 0 : Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    if (candidate === word) continue
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** ` (did you mean 'x'?)`, or nothing when no candidate is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closest(word, candidates)
  return match === undefined ? '' : ` (did you mean '${match}'?)`
}
