// "Did you mean ...?": the nearest known word to a mistyped command or argument, as cobra suggests.

/** Edits that still read as the same word: one or two typos or a swap of neighbours ("gte" → "get"). */
export const SUGGEST_MAX_DISTANCE = 2;

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps count 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** Candidates within SUGGEST_MAX_DISTANCE of `word` or starting with it, nearest first; ties keep the given order. */
export function suggestions(word: string, candidates: readonly string[]): string[] {
  const w = word.toLowerCase();
  if (w === '') return [];
  return candidates
    .map((c, i) => ({ c, i, d: c.startsWith(w) ? 0 : editDistance(w, c.toLowerCase()) }))
    .filter((x) => x.d <= SUGGEST_MAX_DISTANCE && x.d < Math.max(w.length, 2))
    .sort((x, y) => x.d - y.d || x.i - y.i)
    .map((x) => x.c);
}

/** `, did you mean get?` / `, did you mean up or status?` / '' when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const s = suggestions(word, candidates).slice(0, 2);
  return s.length === 0 ? '' : `, did you mean ${s.join(' or ')}?`;
}
