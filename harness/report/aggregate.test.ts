import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { aggregateFile, createAggregator, keepServerMetric } from "./aggregate.ts";
import { mergeHistograms, newHistogram, percentileMs, recordMs } from "./histogram.ts";
import { allSlots, latencyOver, readSeries, seriesFromJSON, seriesToJSON, writeSeries } from "./series.ts";
import { k6Line } from "./testing/run-folder.ts";
import { LOAD_START_MS, opPoints, seriesOf } from "./testing/series.ts";

describe("createAggregator", () => {
  it("counts operations per second by op and outcome, codes and timeouts by kind", () => {
    const s = seriesOf([
      [{ outcome: "approved", count: 3 }],
      [
        { outcome: "approved", count: 1 },
        { outcome: "timeout.response", count: 2 },
        { op: "signin", outcome: "declined", count: 1, code: "96" },
      ],
    ]);
    expect(s.slots).toBe(2);
    expect(s.ops.purchase!.approved).toEqual([3, 1]);
    expect(s.ops.purchase!["timeout.response"]).toEqual([0, 2]);
    expect(s.ops.signin!.declined).toEqual([0, 1]);
    expect(s.codes.purchase!["00"]).toEqual([3, 1]);
    expect(s.codes.signin!["96"]).toEqual([0, 1]);
    expect(s.timeouts.purchase!.response).toEqual([0, 2]);
    expect(s.latency.purchase![0]!.totalCount).toBe(3);
    expect(s.latency.purchase![1]!.totalCount).toBe(3);
    expect(s.latency.signin![0]).toBeNull();
  });

  it("integrates session changes into terminals signed in, and counts reversal events", () => {
    const a = createAggregator({ loadStartMs: LOAD_START_MS });
    const at = (s: number) => LOAD_START_MS + s * 1000 + 10;
    for (let i = 0; i < 5; i++)
      a.add({ metric: "pos_session_changes", timeMs: at(0), value: 1, tags: { change: "signed-in" } });
    a.add({ metric: "pos_session_changes", timeMs: at(2), value: 1, tags: { change: "signed-out" } });
    a.add({ metric: "pos_reversal_events", timeMs: at(1), value: 1, tags: { event: "queued" } });
    a.add({ metric: "pos_retries", timeMs: at(1), value: 1, tags: { op: "signin" } });
    a.add({ metric: "pos_signed_in", timeMs: at(1), value: 99, tags: {} }); // per-VU gauge: ignored
    a.add({ metric: "tcp_sockets", timeMs: at(1), value: 1, tags: {} });
    const s = a.result();
    expect(s.signedIn).toEqual([5, 5, 4]);
    expect(s.reversals.queued).toEqual([0, 1, 0]);
    expect(s.retries.signin).toEqual([0, 1, 0]);
    expect(s.points).toBe(8);
  });

  it("keeps pos_unsettled samples with their identity", () => {
    const a = createAggregator({ loadStartMs: LOAD_START_MS });
    a.add({
      metric: "pos_unsettled",
      timeMs: LOAD_START_MS + 1500,
      value: 1,
      tags: { tid: "POS00001", stan: "000123", batch: "000001", reason: "98" },
    });
    expect(a.result().unsettled).toEqual([
      { tid: "POS00001", stan: "000123", batch: "000001", reason: "98", timeMs: LOAD_START_MS + 1500 },
    ]);
  });

  it("puts samples before load start into slot 0 and counts them", () => {
    const a = createAggregator({ loadStartMs: LOAD_START_MS });
    a.add({
      metric: "pos_ops",
      timeMs: LOAD_START_MS - 300,
      value: 1,
      tags: { op: "signin", outcome: "approved" },
    });
    const s = a.result();
    expect(s.ops.signin!.approved).toEqual([1]);
    expect(s.early).toBe(1);
  });

  it("keeps the listed server metrics and switch/hsm/issuer gauges (as the scraper filters), last value per second", () => {
    const a = createAggregator({ loadStartMs: LOAD_START_MS });
    const scrape = (tMs: number, inFlight: number) =>
      a.addServerSample(
        tMs,
        "switch",
        new Map(
          (
            [
              ["switch_in_flight", inFlight],
              ["switch_late_replies_total", 4],
              ['switch_requests_total{code="00",mti="0200"}', 100],
              ['switch_latency_seconds_bucket{mti="0200",le="0.1"}', 3],
              ['switch_connections{mode="short"}', 7],
              ["process_resident_memory_bytes", 1e8],
            ] as [string, number][]
          ).filter(([key]) => keepServerMetric(key)),
        ),
      );
    scrape(LOAD_START_MS + 100, 1);
    scrape(LOAD_START_MS + 900, 2);
    scrape(LOAD_START_MS + 2100, 3);
    const s = a.result();
    expect(Object.keys(s.server.switch!).sort()).toEqual([
      "process_resident_memory_bytes",
      'switch_connections{mode="short"}',
      "switch_in_flight",
      "switch_late_replies_total",
    ]);
    expect(keepServerMetric("process_heap_used_bytes")).toBe(false);
    expect(s.server.switch!.switch_in_flight).toEqual([2, null, 3]);
    expect(keepServerMetric("hsm_utilisation")).toBe(true);
    expect(keepServerMetric("issuer_queue_depth")).toBe(true);
    expect(keepServerMetric('issuer_requests_total{code="00"}')).toBe(false);
    // A user's switch's named metrics, counters too, by name or by exact key.
    const extra = new Set(["tx_pending", "auth_total"]);
    expect(keepServerMetric('auth_total{rc="00"}', extra)).toBe(true);
    expect(keepServerMetric("tx_pending", extra)).toBe(true);
    expect(keepServerMetric("jvm_threads", extra)).toBe(false);
  });
});

describe("histograms", () => {
  it("merged per-second histograms give the same percentiles as one histogram of every value", () => {
    const one = newHistogram();
    const perSecond = Array.from({ length: 20 }, () => newHistogram());
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.round(5 + random() ** 3 * 8000);
      recordMs(one, ms);
      recordMs(perSecond[i % 20]!, ms);
    }
    const merged = mergeHistograms(perSecond);
    for (const p of [50, 90, 99, 99.9]) expect(percentileMs(merged, p)).toBe(percentileMs(one, p));
    expect(merged.totalCount).toBe(20_000);
  });

  it("keeps 3 significant digits", () => {
    const h = newHistogram();
    recordMs(h, 123_456);
    expect(Math.abs(percentileMs(h, 100)! - 123_456) / 123_456).toBeLessThan(0.001);
    expect(percentileMs(newHistogram(), 50)).toBeNull();
  });
});

describe("series.json", () => {
  it("round-trips through JSON with histograms as compressed base64", () => {
    const s = seriesOf([
      [{ outcome: "approved", count: 50, ms: 40 }],
      [],
      [{ outcome: "timeout.connect", count: 2 }],
    ]);
    const json = JSON.parse(JSON.stringify(seriesToJSON(s)));
    expect(typeof json.latency.purchase[0]).toBe("string");
    expect(json.latency.purchase[1]).toBeNull();
    const back = seriesFromJSON(json);
    expect(back.ops).toEqual(s.ops);
    expect(percentileMs(latencyOver(back, allSlots(back), "purchase"), 50)).toBe(40);
    expect(latencyOver(back, allSlots(back)).totalCount).toBe(52);
    const dir = mkdtempSync(join(tmpdir(), "posstorm-series-"));
    writeSeries(dir, s);
    expect(readSeries(dir).ops).toEqual(s.ops);
  });

  it("refuses another version", () => {
    const json = { ...seriesToJSON(seriesOf([[]])), version: 9 };
    expect(() => seriesFromJSON(json as never)).toThrow("series version 9 is not 1");
  });
});

describe("aggregateFile", () => {
  it("streams k6-results.json (k6 --out json lines) and uses run.json's load start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-agg-"));
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({ loadStartedAt: new Date(LOAD_START_MS).toISOString() }),
    );
    const line = k6Line;
    const lines = [
      JSON.stringify({ type: "Metric", data: { name: "pos_ops", type: "counter" }, metric: "pos_ops" }),
      JSON.stringify({
        metric: "tcp_sockets",
        type: "Point",
        data: { time: new Date(LOAD_START_MS).toISOString(), value: 1, tags: {} },
      }),
      ...opPoints(0, { outcome: "approved", count: 4 }).map(line),
      ...opPoints(2, { outcome: "timeout.response", count: 1 }).map(line),
      '{"metric":"pos_ops","type":"Point","data":{"time":"2026-01-01T12:00:03.5', // cut short by a kill
    ];
    writeFileSync(join(dir, "k6-results.json"), `${lines.join("\n")}\n`);
    writeFileSync(
      join(dir, "server-metrics.jsonl"),
      `${JSON.stringify({ t: LOAD_START_MS + 1200, role: "hsm", metrics: { hsm_utilisation: 0.5 } })}\n{"t":`,
    );
    const s = await aggregateFile(dir);
    expect(s.loadStartMs).toBe(LOAD_START_MS);
    expect(s.ops.purchase!.approved).toEqual([4, 0, 0]);
    expect(s.ops.purchase!["timeout.response"]).toEqual([0, 0, 1]);
    expect(s.server.hsm!.hsm_utilisation).toEqual([null, 0.5, null]);
  });

  it("falls back to the final scrape in collected/ at the last sample", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-agg-"));
    const lines = opPoints(4, { outcome: "approved", count: 1 }).map((p) =>
      JSON.stringify({
        metric: p.metric,
        type: "Point",
        data: { time: new Date(p.timeMs).toISOString(), value: p.value, tags: p.tags },
      }),
    );
    writeFileSync(join(dir, "k6-results.json"), `${lines.join("\n")}\n`);
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({ loadStartedAt: new Date(LOAD_START_MS).toISOString() }),
    );
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(dir, "collected"));
    writeFileSync(
      join(dir, "collected", "switch.metrics.prom"),
      "# HELP x\nswitch_in_flight 3\nswitch_queue_depth 1\n",
    );
    const s = await aggregateFile(dir);
    expect(s.slots).toBe(5);
    expect(s.server.switch!.switch_in_flight).toEqual([null, null, null, null, 3]);
  });

  it("reads a gzipped k6-results.json.gz the same way", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-agg-"));
    const lines = opPoints(1, { outcome: "approved", count: 3 }).map((p) =>
      JSON.stringify({
        metric: p.metric,
        type: "Point",
        data: { time: new Date(p.timeMs).toISOString(), value: p.value, tags: p.tags },
      }),
    );
    writeFileSync(join(dir, "k6-results.json.gz"), gzipSync(`${lines.join("\n")}\n`));
    const s = await aggregateFile(dir, { loadStartMs: LOAD_START_MS });
    expect(s.ops.purchase!.approved).toEqual([0, 3]);
  });

  it("names the missing file", async () => {
    await expect(aggregateFile(mkdtempSync(join(tmpdir(), "posstorm-agg-")))).rejects.toThrow(
      /samples\.ndjson\.gz: no such file/,
    );
  });
});
