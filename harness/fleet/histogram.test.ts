import { describe, expect, it } from "vitest";
import { addCounts, countOp, newCounts, opsCounted, timeoutsOf } from "./counts.ts";
import { decodeHistogram, encodeHistogram, newHistogram, percentileOf, recordValue } from "./histogram.ts";
import { FleetMerger } from "./merge.ts";
import type { WireSecond } from "./wire.ts";

/** Deterministic pseudo-random values (a linear congruential generator). */
function values(seed: number, n: number, scale: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(1 + Math.floor((x / 2 ** 31) * scale));
  }
  return out;
}

const histogramOf = (xs: number[]) => {
  const h = newHistogram();
  for (const x of xs) recordValue(h, x);
  return h;
};

function wire(
  second: number,
  latencies: number[],
  extra?: (c: ReturnType<typeof newCounts>) => void,
): WireSecond {
  const counts = newCounts();
  for (const _ of latencies) countOp(counts, "signin", "approved", "00");
  extra?.(counts);
  return {
    second,
    counts,
    latency: [{ op: "signin", outcome: "approved", histogram: encodeHistogram(histogramOf(latencies)) }],
  };
}

describe("histograms merge; percentiles are never averaged", () => {
  // A fast segment (1-20 ms, 9,000 samples) and a slow one (500-3,000 ms, 1,000 samples).
  const fast = values(1, 9_000, 20);
  const slow = values(7, 1_000, 2_500).map((v) => v + 500);

  it("the merged p99 is the p99 of the union, not the mean of the segments' p99s", () => {
    const merger = new FleetMerger(true);
    merger.addTick([wire(0, fast)], undefined);
    merger.addTick([wire(0, slow)], undefined);
    const [second] = merger.takeSeconds();
    const merged = second!.latencyMs.signin!.approved!;
    const union = decodeHistogram(encodeHistogram(histogramOf([...fast, ...slow])));
    expect(merged.totalCount).toBe(10_000);
    for (const p of [50, 90, 95, 99, 99.9]) expect(percentileOf(merged, p)).toBe(percentileOf(union, p));
    const averaged = (percentileOf(histogramOf(fast), 99)! + percentileOf(histogramOf(slow), 99)!) / 2;
    expect(Math.abs(percentileOf(merged, 99)! - averaged)).toBeGreaterThan(100);
    // the run totals hold the same merge
    expect(merger.latencySummary().signin?.approved).toMatchObject({
      count: 10_000,
      p99Ms: percentileOf(union, 99),
      maxMs: union.maxValue,
    });
  });

  it("survives the wire: encode → decode keeps every count", () => {
    const h = histogramOf(slow);
    const back = decodeHistogram(encodeHistogram(h));
    expect(back.totalCount).toBe(h.totalCount);
    for (const p of [1, 50, 90, 99]) expect(percentileOf(back, p)).toBe(percentileOf(h, p));
  });

  it("keeps seconds apart and hands each out once", () => {
    const merger = new FleetMerger(true);
    merger.addTick([wire(3, [5, 6]), wire(1, [7])], undefined);
    merger.addTick([wire(3, [8])], undefined);
    const seconds = merger.takeSeconds();
    expect(seconds.map((s) => [s.second, opsCounted(s.counts)])).toEqual([
      [1, 1],
      [3, 3],
    ]);
    expect(merger.takeSeconds()).toEqual([]);
    expect(opsCounted(merger.totals)).toBe(4);
  });
});

describe("counts add up", () => {
  it("adds ops by code, events, and derives timeouts by kind", () => {
    const a = newCounts();
    countOp(a, "purchase", "timeout.response", "");
    countOp(a, "purchase", "approved", "00", 3);
    a.retries.signin = 2;
    a.skipped.purchase = { "reversal-pending": 1 };
    a.reversals.queued = 1;
    const b = newCounts();
    countOp(b, "purchase", "timeout.response", "");
    countOp(b, "signin", "timeout.connect", "");
    b.retries.signin = 1;
    b.skipped.purchase = { "reversal-pending": 2, "not-signed-in": 1 };
    b.dropped = 4;
    addCounts(a, b);
    expect(a.ops.purchase).toEqual({ "timeout.response": { "": 2 }, approved: { "00": 3 } });
    expect(a.retries.signin).toBe(3);
    expect(a.skipped.purchase).toEqual({ "reversal-pending": 3, "not-signed-in": 1 });
    expect(a.dropped).toBe(4);
    expect(timeoutsOf(a)).toEqual({
      purchase: { connect: 0, response: 2, idle: 0 },
      signin: { connect: 1, response: 0, idle: 0 },
    });
    expect(opsCounted(a, "purchase")).toBe(5);
    expect(opsCounted(a, undefined, "timeout.response")).toBe(2);
  });
});
