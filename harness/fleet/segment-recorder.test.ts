import { describe, expect, it } from "vitest";
import { nowMs } from "./clock.ts";
import { decodeHistogram } from "./histogram.ts";
import { parseSampleLines } from "./samples.ts";
import { SegmentRecorder } from "./segment-recorder.ts";

const PAN = "6222020000000001234";

describe("SegmentRecorder: samples and per-second counts", () => {
  it("writes one compact record per call, times from load start at 0.1 ms", () => {
    const start = nowMs() - 5_000; // load started 5 s ago
    const logs: string[] = [];
    const r = new SegmentRecorder(3, start, (line) => logs.push(line));
    r.recordOutcome("POS00007", "signin", "approved", start + 1234.567, 0.04, "00");
    r.recordOutcome("POS00007", "purchase", "timeout.response", start + 2000.01, 12.345);
    r.recordSession("POS00007", "signed-in");
    r.recordReversal("POS00007", "queued");
    r.recordUnsettled({ tid: "POS00007", stan: "000042", batch: "000001", reason: "98" });
    r.recordRetry("POS00007", "signin");
    r.recordSkipped("POS00007", "purchase", "reversal-pending");
    r.recordDropped("purchase", start + 4999.96);
    r.log("posstorm terminal POS00007: signin → refused: x");
    const { lines, count } = r.takeSamples();
    expect(count).toBe(8);
    expect(lines.endsWith("\n")).toBe(true);
    expect(lines).not.toContain(PAN);
    const samples = parseSampleLines(lines);
    expect(samples[0]).toEqual({
      t: 1234.6,
      op: "signin",
      outcome: "approved",
      code: "00",
      ms: expect.any(Number),
      lag: 0,
      tid: "POS00007",
      segment: 3,
    });
    expect(Object.keys(samples[0]!)).toEqual(["t", "op", "outcome", "code", "ms", "lag", "tid", "segment"]);
    const first = samples[0] as { ms: number };
    expect(first.ms).toBeGreaterThanOrEqual(3765); // intended start 1.23 s into a 5 s old load
    expect(first.ms).toBeLessThan(3765 + 1000);
    expect(samples[1]).toMatchObject({ t: 2000, op: "purchase", outcome: "timeout.response", lag: 12.3 });
    expect(samples[1]).not.toHaveProperty("code");
    expect(samples.slice(2).map((s) => ("ev" in s ? s.ev : "op"))).toEqual([
      "session",
      "reversal",
      "unsettled",
      "retry",
      "skipped",
      "dropped",
    ]);
    expect(samples[4]).toMatchObject({
      tid: "POS00007",
      stan: "000042",
      batch: "000001",
      reason: "98",
      segment: 3,
    });
    expect(samples[7]).toEqual({ t: 5000, ev: "dropped", op: "purchase", segment: 3 });
    expect(logs).toEqual(["posstorm terminal POS00007: signin → refused: x"]);
    expect(r.takeSamples()).toEqual({ lines: "", count: 0 });
  });

  it("counts operations in their intended second with a latency histogram; events when they happen", () => {
    const start = nowMs() - 3_500;
    const r = new SegmentRecorder(0, start, () => {});
    r.recordOutcome("POS00001", "signin", "approved", start + 100, 0, "00");
    r.recordOutcome("POS00002", "signin", "approved", start + 900, 0, "00");
    r.recordOutcome("POS00003", "signin", "declined", start + 1100, 0, "A7");
    r.recordSession("POS00001", "signed-in"); // now: second 3
    r.recordDropped("signin", start + 2500);
    const seconds = r.takeSeconds();
    expect(seconds.map((s) => s.second)).toEqual([0, 1, 2, 3]);
    expect(seconds[0]!.counts.ops).toEqual({ signin: { approved: { "00": 2 } } });
    expect(seconds[1]!.counts.ops).toEqual({ signin: { declined: { A7: 1 } } });
    expect(seconds[2]!.counts.dropped).toBe(1);
    expect(seconds[3]!.counts.sessions["signed-in"]).toBe(1);
    const h = decodeHistogram(seconds[0]!.latency[0]!.histogram);
    expect(seconds[0]!.latency[0]).toMatchObject({ op: "signin", outcome: "approved" });
    expect(h.totalCount).toBe(2);
    expect(h.minNonZeroValue).toBeGreaterThanOrEqual(2590); // 3.5 s − 0.9 s, whole ms
    expect(r.takeSeconds()).toEqual([]);
    const stats = r.takeStartStats();
    expect(stats.dropped).toBe(1);
  });

  it("ignores everything after close() (an aborted segment's last operations are not outcomes)", () => {
    const r = new SegmentRecorder(0, nowMs(), () => {});
    r.recordOutcome("POS00001", "signin", "approved", nowMs(), 0, "00");
    r.close();
    r.recordOutcome("POS00001", "signin", "closed", nowMs(), 0);
    r.recordSession("POS00001", "signed-out");
    r.recordDropped("signin", nowMs());
    expect(r.takeSamples().count).toBe(1);
    const [second] = r.takeSeconds();
    expect(second!.counts.ops).toEqual({ signin: { approved: { "00": 1 } } });
  });
});
