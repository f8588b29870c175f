import {
  addHistogram,
  decodeHistogram,
  encodeHistogram,
  type Histogram,
  newHistogram,
  percentileOf,
  recordValue,
} from "../fleet/histogram.ts";

// The report's latency histograms: the fleet's (harness/fleet/histogram.ts, whole ms, 3 significant digits), so
// the report merges what the fleet measured with the same settings.

export { decodeHistogram, encodeHistogram, type Histogram, newHistogram };

/** Records a duration in ms (rounded to a whole ms, negatives as 0). */
export const recordMs: (histogram: Histogram, ms: number) => void = recordValue;

/** A new histogram holding every count of `histograms` (missing ones skipped); the inputs are unchanged. */
export function mergeHistograms(histograms: Iterable<Histogram | null | undefined>): Histogram {
  const merged = newHistogram();
  for (const h of histograms) if (h) addHistogram(merged, h);
  return merged;
}

/**
 * Value at `percentile` (0–100), ms; null for an empty histogram. HDR answers with the highest value
 * equivalent to the bucket (5,003 for a bucket holding 5,000); capped at the largest value recorded.
 */
export const percentileMs: (histogram: Histogram, percentile: number) => number | null = percentileOf;
