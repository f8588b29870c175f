import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from "hdr-histogram-js";

// The one importer of hdr-histogram-js (the report uses it through harness/report/histogram.ts). Latency
// histograms hold whole milliseconds with 3 significant digits (exact below 2,048 ms, within 0.1 % above),
// auto-resizing to any value. They travel between threads in HdrHistogram's compressed V2 encoding (base64).
// Percentiles come from merged histograms, never from averaging percentiles.
//
// Counts are 32-bit arrays, not the library's "packed" ones: a packed histogram is smaller (~2-9 KB against
// ~12 KB up to 2 s, ~28 KB up to 60 s) but adding one to another walks every index through the packed lookup,
// ~1.4 ms each, which made merging a 10-minute run's 1,800 per-second histograms (and sliding windows over
// them) take seconds; with flat arrays an add is ~20 µs. The files are the same: the compressed encoding only
// carries non-zero counts.

export type { Histogram };

export function newHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    numberOfSignificantValueDigits: 3,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    autoResize: true,
  });
}

/** Records a value (rounded to a whole unit, negatives and NaN as 0). */
export function recordValue(histogram: Histogram, value: number): void {
  histogram.recordValue(Number.isFinite(value) && value > 0 ? Math.round(value) : 0);
}

/** HdrHistogram's compressed V2 encoding in base64 (the format of HdrHistogram logs). */
export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(base64: string): Histogram {
  const histogram = decodeFromCompressedBase64(base64, 32);
  histogram.autoResize = true;
  return histogram;
}

/** Adds every count of `from` into `into`. */
export function addHistogram(into: Histogram, from: Histogram): void {
  if (from.totalCount > 0) into.add(from);
}

/** Value at `percentile` (0–100), capped at the largest value recorded; null for an empty histogram. */
export function percentileOf(histogram: Histogram, percentile: number): number | null {
  if (histogram.totalCount === 0) return null;
  return Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue);
}
