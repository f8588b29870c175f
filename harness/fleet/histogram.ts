import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from "hdr-histogram-js";

// The fleet's seam to hdr-histogram-js, with the settings of harness/report/histogram.ts (whole ms, 3
// significant digits, 32-bit counts, auto-resize), so the report merges the fleet's histograms as its own.
// Histograms travel between threads in HdrHistogram's compressed V2 encoding (base64). Percentiles come
// from merged histograms, never from averaging percentiles.

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
