// The benchmarks' one percentile: the nearest-rank value of an ascending list (0 when it is empty). Sample
// counts here are small enough to keep every value; the run's own figures use merged HDR histograms.

export const percentile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
