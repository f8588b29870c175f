import { describe, expect, it } from "vitest";
import { createAggregator } from "./aggregate.ts";
import { chartData, counterRate, faultWindows } from "./charts.ts";
import { LOAD_START_MS, opPoints, phasesWithFault, seriesOf } from "./testing/series.ts";

describe("chartData", () => {
  it("charts throughput by outcome, per-second percentiles and timeout rate by kind", () => {
    const s = seriesOf([
      [
        { outcome: "approved", count: 9, ms: 10 },
        { outcome: "timeout.connect", count: 1, ms: 3000 },
      ],
      [],
      [{ outcome: "approved", count: 4, ms: 30 }],
    ]);
    const d = chartData(s, [{ name: "f", startS: 1, endS: 2 }]);
    expect(d.x).toEqual([0, 1, 2]);
    expect(d.faults).toEqual([{ name: "f", startS: 1, endS: 2 }]);
    const chart = (id: string) => d.charts.find((c) => c.id === id)!;
    expect(chart("throughput").lines).toEqual([
      { label: "approved", values: [9, 0, 4] },
      { label: "timeout.connect", values: [1, 0, 0] },
    ]);
    expect(chart("latency-purchase").lines.map((l) => [l.label, l.values])).toEqual([
      ["p50", [10, null, 30]],
      ["p95", [3000, null, 30]],
      ["p99", [3000, null, 30]],
    ]);
    expect(chart("timeout-rate").lines[0]).toEqual({ label: "connect", values: [10, null, 0] });
    expect(chart("codes").lines).toEqual([{ label: "00", values: [9, 0, 4] }]);
    expect(chart("switch")).toMatchObject({ lines: [], note: expect.stringMatching(/final scrape/) });
  });

  it("charts scraped server series, joining gaps, counters as per-second rates", () => {
    const a = createAggregator({ loadStartMs: LOAD_START_MS });
    for (const p of opPoints(3, { outcome: "approved", count: 1 })) a.add(p);
    for (let s = 0; s < 4; s += 1) {
      if (s === 2) continue;
      a.addServerSample(
        LOAD_START_MS + s * 1000,
        "switch",
        new Map([
          ["switch_in_flight", s],
          ["switch_late_replies_total", s * 3],
        ]),
      );
      a.addServerSample(
        LOAD_START_MS + s * 1000,
        "hsm",
        new Map([
          ["hsm_utilisation", 0.25],
          ["process_resident_memory_bytes", (64 + s) * 2 ** 20],
        ]),
      );
      a.addServerSample(LOAD_START_MS + s * 1000, "issuer-a", new Map([["issuer_queue_depth", 1]]));
    }
    const d = chartData(a.result(), []);
    const chart = (id: string) => d.charts.find((c) => c.id === id)!;
    expect(chart("switch").note).toBeUndefined();
    // Memory per program, MiB: only the programs that report it.
    expect(chart("memory").lines).toEqual([{ label: "hsm", values: [64, 65, null, 67], spanGaps: true }]);
    expect(chart("switch").lines).toEqual([
      { label: "in flight", values: [0, 1, null, 3], spanGaps: true },
      { label: "late replies/s", values: [null, 3, null, 3], spanGaps: true },
    ]);
    expect(chart("hsm").lines[0]).toEqual({
      label: "utilisation %",
      values: [25, 25, null, 25],
      spanGaps: true,
    });
    expect(chart("issuers").lines.map((l) => l.label)).toEqual(["issuer-a queue"]);
  });
});

describe("counterRate", () => {
  it("differences a running counter per second, across gaps and resets", () => {
    expect(counterRate([null, 10, 12, null, 20, 3], 1)).toEqual([null, null, 2, null, 4, 3]);
    expect(counterRate([0, 10], 2)).toEqual([null, 5]);
  });
});

describe("faultWindows", () => {
  it("takes every applied timeline entry, instant faults included (not whole-run conditions), else the fault phases", () => {
    expect(
      faultWindows(
        [
          {
            name: "a",
            target: "edge",
            atS: 5,
            forS: 10,
            appliedAt: { sinceStartS: 5.1 },
            clearedAt: { sinceStartS: 15.2 },
          },
          { name: "kill", target: "edge", atS: 20, forS: 0, appliedAt: { sinceStartS: 20.05 } },
          { name: "never", target: "hsm", atS: 25, forS: 5 },
          {
            name: "network-4g-1",
            target: "edge",
            atS: 0,
            forS: 30,
            appliedAt: { sinceStartS: 0 },
            clearedAt: { sinceStartS: 30 },
            condition: true,
          },
        ],
        [],
      ),
    ).toEqual([
      { name: "a", startS: 5.1, endS: 15.2, target: "edge" },
      { name: "kill", startS: 20.05, endS: 20.05, target: "edge" },
    ]);
    expect(faultWindows([], phasesWithFault(3, 6, 9))).toEqual([
      { name: "edge-latency", startS: 3, endS: 6, target: "edge" },
    ]);
  });
});
