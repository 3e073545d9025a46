// The arithmetic of `compare.js`: medians over rounds, the best peer of a figure, and ours over it, as a whole
// and round by round.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Each scenario's figures, one record per measured round, rounds in the same order for every scenario. */
export type Rounds = Record<string, ReadonlyArray<Readonly<Record<string, number>>>>;

export interface RatioRow {
  medians: Record<string, number>;
  /** The peer with the best median (lowest where less is better, highest otherwise). */
  best: string;
  /** Our median over the best peer's. */
  ratio: number;
  /** Round by round: ours over the best peer of that round. */
  perRound: number[];
}

export function ratioRow(rounds: Rounds, ours: string, peers: readonly string[], key: string, lowerIsBetter: boolean): RatioRow {
  if (peers.length === 0) throw new Error('no peer to compare with');
  const valuesOf = (name: string): number[] => {
    const r = rounds[name];
    if (!r || r.length !== rounds[ours]?.length) throw new Error(`${name}: ${r?.length ?? 0} rounds, ${ours} has ${rounds[ours]?.length ?? 0}`);
    return r.map((f, i) => {
      const v = f[key];
      if (v === undefined || !Number.isFinite(v)) throw new Error(`${name}: no "${key}" in round ${i + 1}`);
      return v;
    });
  };
  const medians = Object.fromEntries([ours, ...peers].map((n) => [n, median(valuesOf(n))]));
  const better = (a: number, b: number): boolean => (lowerIsBetter ? a < b : a > b);
  const best = peers.reduce((b, p) => (better(medians[p]!, medians[b]!) ? p : b), peers[0]!);
  const peerValues = peers.map(valuesOf);
  const perRound = valuesOf(ours).map((v, i) => {
    const column = peerValues.map((values) => values[i]!);
    return v / (lowerIsBetter ? Math.min(...column) : Math.max(...column));
  });
  return { medians, best, ratio: medians[ours]! / medians[best]!, perRound };
}
