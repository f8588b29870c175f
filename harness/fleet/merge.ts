import { addCounts, type Counts, child, newCounts } from "./counts.ts";
import { addHistogram, decodeHistogram, type Histogram, newHistogram, percentileOf } from "./histogram.ts";
import type { Operation, Outcome } from "./plan.ts";
import type { WatchSecond, WireSecond } from "./wire.ts";

// The coordinator's side of the per-second data: segments' deltas merged per intended second (histograms
// added, never percentiles averaged), run totals, and the self-watch seconds of every segment.

/** Latency histograms (intended start → outcome, whole ms) by op and outcome. */
export type LatencyHistograms = Partial<Record<Operation, Partial<Record<Outcome, Histogram>>>>;

/**
 * What arrived for one intended second since the last call of onSecond, merged over the segments. Operations
 * end after their second (a 60 s timeout lands a minute later), so one second may come in several calls: add
 * them up (counts add, histograms add).
 */
export interface MergedSecond {
  /** Seconds since load start: intended starts in [second, second + 1) s; events by when they happened. */
  second: number;
  counts: Counts;
  latencyMs: LatencyHistograms;
}

/** A latency distribution's summary, ms (whole ms, HdrHistogram's 3 significant digits). */
export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export class FleetMerger {
  readonly totals: Counts = newCounts();
  readonly totalLatency: LatencyHistograms = {};
  readonly watch: WatchSecond[] = [];
  /** Every scheduled start's lateness over the run and all segments, µs. */
  readonly scheduleLagUs: Histogram = newHistogram();
  private pending = new Map<number, MergedSecond>();
  private readonly keepSeconds: boolean;

  /** `keepSeconds`: hold merged seconds for takeSeconds() (only when someone listens). */
  constructor(keepSeconds: boolean) {
    this.keepSeconds = keepSeconds;
  }

  addTick(seconds: readonly WireSecond[], watch: WatchSecond | undefined): void {
    if (watch !== undefined) {
      if (watch.scheduleLagUs !== null)
        addHistogram(this.scheduleLagUs, decodeHistogram(watch.scheduleLagUs));
      this.watch.push({ ...watch, scheduleLagUs: null });
    }
    for (const wire of seconds) {
      addCounts(this.totals, wire.counts);
      const merged = this.keepSeconds ? this.second(wire.second) : undefined;
      if (merged !== undefined) addCounts(merged.counts, wire.counts);
      for (const { op, outcome, histogram } of wire.latency) {
        const decoded = decodeHistogram(histogram);
        addHistogram(histogramOf(this.totalLatency, op, outcome), decoded);
        if (merged !== undefined) addHistogram(histogramOf(merged.latencyMs, op, outcome), decoded);
      }
    }
  }

  /** The merged seconds since the last call, oldest first. */
  takeSeconds(): MergedSecond[] {
    const out = [...this.pending.values()].sort((a, b) => a.second - b.second);
    this.pending = new Map();
    return out;
  }

  /** Summaries of the run's latency by op and outcome. */
  latencySummary(): Partial<Record<Operation, Partial<Record<Outcome, LatencySummary>>>> {
    const out: Partial<Record<Operation, Partial<Record<Outcome, LatencySummary>>>> = {};
    for (const [op, byOutcome] of Object.entries(this.totalLatency) as [
      Operation,
      LatencyHistograms[Operation],
    ][]) {
      const mine: Partial<Record<Outcome, LatencySummary>> = {};
      for (const [outcome, h] of Object.entries(byOutcome ?? {}) as [Outcome, Histogram][]) {
        mine[outcome] = summarize(h);
      }
      out[op] = mine;
    }
    return out;
  }

  /** Self-watch seconds, by second then segment. */
  watchSeconds(): WatchSecond[] {
    return [...this.watch].sort((a, b) => a.second - b.second || a.segment - b.segment);
  }

  private second(second: number): MergedSecond {
    let merged = this.pending.get(second);
    if (merged === undefined) {
      merged = { second, counts: newCounts(), latencyMs: {} };
      this.pending.set(second, merged);
    }
    return merged;
  }
}

export function summarize(h: Histogram): LatencySummary {
  return {
    count: h.totalCount,
    p50Ms: percentileOf(h, 50),
    p90Ms: percentileOf(h, 90),
    p99Ms: percentileOf(h, 99),
    maxMs: h.totalCount > 0 ? h.maxValue : null,
  };
}

function histogramOf(histograms: LatencyHistograms, op: Operation, outcome: Outcome): Histogram {
  const byOutcome = child(histograms, op);
  let h = byOutcome[outcome];
  if (h === undefined) {
    h = newHistogram();
    byOutcome[outcome] = h;
  }
  return h;
}
