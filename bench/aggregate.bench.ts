import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Operation, Outcome } from "../harness/fleet/plan.ts";
import { type Sample, sampleLine, tenthMs } from "../harness/fleet/samples.ts";
import { openSamplesFile } from "../harness/fleet/samples-file.ts";
import { aggregateFile, createAggregator, SAMPLES_FILE } from "../harness/report/aggregate.ts";
import { chartData } from "../harness/report/charts.ts";
import { type RunSeries, SERIES_FILE, writeSeries } from "../harness/report/series.ts";
import { evaluate, type Slo } from "../harness/report/slo.ts";

// Memory, time and size of the aggregation of synthetic runs (the bar: 10 minutes at 2,000 ops/s within
// ~100 MB on disk and 1 GiB of memory for results, nothing sampled away). The fleet engine's samples
// (harness/fleet/samples.ts) are generated here, not by a fleet.
//
// - benchAggregate: the streaming aggregator on in-memory samples (Aggregator.addSample), then aggregateFile on
//   a samples.ndjson.gz written as runFleet writes it (openSamplesFile);
// - a whole run folder and `posstorm report` on it (`npm run bench -- report`): report.bench.ts.
//
//   node --expose-gc bench/aggregate.bench.ts [seconds] [ops/s] [file seconds]

// scripts/bench.ts imports the report suite from here.

export interface AggregateFigures {
  seconds: number;
  opsPerS: number;
  operations: number;
  /** Samples fed to the aggregator: one per operation, and the events (sessions, reversals, unsettled). */
  samples: number;
  /** Wall-clock time to aggregate the in-memory samples. */
  aggregateS: number;
  samplesPerS: number;
  /** Memory the series holds once done (JS heap + array buffers, after GC when --expose-gc), MB. */
  retainedMB: number;
  /** Peak RSS of the process during the bench, MB. */
  peakRssMB: number;
  seriesJsonMB: number;
  /** Time to evaluate a handful of SLOs, one with a sliding latency window. */
  evaluateS: number;
  /** samples.ndjson.gz of `fileSeconds` of the same load: its records and size, aggregateFile's speed. */
  file: { seconds: number; records: number; sizeMB: number; aggregateS: number; recordsPerS: number };
}

const OUTCOMES: [Outcome, number, number][] = [
  // outcome, share, duration scale (ms)
  ["approved", 0.975, 0],
  ["declined", 0.01, 0],
  ["timeout.response", 0.006, 60_000],
  ["timeout.connect", 0.004, 10_000],
  ["reset", 0.005, 0],
];

const TERMINALS = 20_000;

/** Deterministic samples of one second of synthetic load (operations by intended start, 0.1 ms resolution). */
function* secondOfLoad(s: number, opsPerS: number, random: () => number): Generator<Sample> {
  for (let i = 0; i < opsPerS; i++) {
    const t = tenthMs(s * 1000 + (i * 1000) / opsPerS);
    const r = random();
    const op: Operation = r < 0.9 ? "purchase" : r < 0.98 ? "signin" : "reversal";
    const tidIndex = Math.floor(random() * TERMINALS);
    const tid = `POS${String(tidIndex + 1).padStart(5, "0")}`;
    const segment = tidIndex % 2;
    let pick = random();
    let outcome: Outcome = "approved";
    let fixedMs = 0;
    for (const [o, share, ms] of OUTCOMES) {
      if (pick < share) {
        outcome = o;
        fixedMs = ms;
        break;
      }
      pick -= share;
    }
    // Long-tailed service time: 15 ms … several seconds.
    const ms = tenthMs(fixedMs || 15 + 40 * Math.exp(random() * 2.5) * (random() < 0.01 ? 20 : 1));
    const lag = tenthMs(random() * 2);
    const code =
      outcome === "approved" ? "00" : outcome === "declined" ? (random() < 0.5 ? "51" : "96") : undefined;
    yield code === undefined
      ? { t, op, outcome, ms, lag, tid, segment }
      : { t, op, outcome, code, ms, lag, tid, segment };
    const end = tenthMs(t + ms);
    if (op === "signin" && outcome === "approved" && random() < 0.5) {
      yield { t: end, ev: "session", change: "signed-in", tid, segment };
    } else if (op === "purchase" && outcome === "timeout.response") {
      const stan = String(1 + Math.floor(random() * 999_999)).padStart(6, "0");
      yield { t: end, ev: "reversal", event: "queued", tid, segment };
      yield { t: end, ev: "unsettled", tid, stan, batch: "000001", reason: "98", segment };
    } else if (op === "reversal" && outcome === "approved") {
      yield { t: end, ev: "reversal", event: "settled", tid, segment };
    }
  }
}

function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

export async function benchAggregate(
  seconds = 600,
  opsPerS = 2000,
  fileSeconds = 60,
): Promise<AggregateFigures> {
  const loadStartMs = Date.UTC(2026, 0, 1);
  let peakRss = process.memoryUsage().rss;
  const sampleRss = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  const held = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  gc();
  const heldBefore = held();
  const random = lcg(42);
  const aggregator = createAggregator({ loadStartMs });
  const roles = ["switch", "hsm", "issuer-a", "issuer-b"];
  let samples = 0;
  const started = performance.now();
  for (let s = 0; s < seconds; s++) {
    for (const sample of secondOfLoad(s, opsPerS, random)) {
      aggregator.addSample(sample);
      samples++;
    }
    for (const role of roles) {
      aggregator.addServerSample(
        loadStartMs + s * 1000 + 500,
        role,
        new Map([
          [`${role.replace(/-.*/, "")}_in_flight`, random() * 100],
          [`${role.replace(/-.*/, "")}_queue_depth`, random() * 10],
          ["switch_late_replies_total", s],
          ["hsm_utilisation", random()],
        ]),
      );
    }
    if (s % 50 === 0) sampleRss();
  }
  const aggregateS = (performance.now() - started) / 1000;
  const series: RunSeries = aggregator.result();
  gc();
  sampleRss();
  const retainedMB = mb(held() - heldBefore);

  const dir = mkdtempSync(join(tmpdir(), "posstorm-bench-"));
  try {
    writeSeries(dir, series);
    const seriesJsonMB = mb(statSync(join(dir, SERIES_FILE)).size);
    sampleRss();

    const slos: Slo[] = [
      { indicator: "timeout-rate", scope: { operation: "purchase" }, objective: { max: 0.02 } },
      {
        indicator: "timeout-rate",
        kind: "response",
        scope: { window: { worstOfS: 10 } },
        objective: { max: 0.05 },
      },
      { indicator: "latency", percentile: "p99", scope: { operation: "purchase" }, objective: { max: 5000 } },
      {
        indicator: "latency",
        percentile: "p99",
        scope: { window: { worstOfS: 30 } },
        objective: { max: 5000 },
      },
      { indicator: "error-rate", objective: { max: 0.01 } },
    ];
    const evalStarted = performance.now();
    evaluate(slos, series, [], undefined);
    chartData(series, []);
    const evaluateS = (performance.now() - evalStarted) / 1000;
    sampleRss();

    // The same load for fileSeconds, stored as runFleet stores it (NDJSON gzipped by openSamplesFile, one
    // write per second of load), then aggregateFile on it.
    const file = await openSamplesFile(join(dir, SAMPLES_FILE));
    const fileRandom = lcg(7);
    for (let s = 0; s < fileSeconds; s++) {
      const lines: string[] = [];
      for (const sample of secondOfLoad(s, opsPerS, fileRandom)) lines.push(sampleLine(sample));
      file.write(lines.join(""), lines.length);
      // let the gzip stream (libuv's thread pool) keep up: a fleet writes a second's samples once a second
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stats = await file.close();
    const sizeMB = mb(stats.gzipBytes);
    const fileStarted = performance.now();
    const timer = setInterval(sampleRss, 200);
    await aggregateFile(dir, { loadStartMs });
    clearInterval(timer);
    const fileAggregateS = (performance.now() - fileStarted) / 1000;
    sampleRss();
    return {
      seconds,
      opsPerS,
      operations: seconds * opsPerS,
      samples,
      aggregateS: Math.round(aggregateS * 100) / 100,
      samplesPerS: Math.round(samples / aggregateS),
      retainedMB,
      peakRssMB: mb(peakRss),
      seriesJsonMB,
      evaluateS: Math.round(evaluateS * 100) / 100,
      file: {
        seconds: fileSeconds,
        records: stats.records,
        sizeMB,
        aggregateS: Math.round(fileAggregateS * 100) / 100,
        recordsPerS: Math.round(stats.records / fileAggregateS),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `aggregate [seconds] [ops/s] [file seconds]`, or the numbers alone
  const [command, ...rest] = process.argv.slice(2);
  const numbers = command === "aggregate" ? rest : process.argv.slice(2);
  const [seconds, opsPerS, fileSeconds] = numbers.map(Number);
  const figures = await benchAggregate(seconds || 600, opsPerS || 2000, fileSeconds || 60);
  console.log(JSON.stringify(figures, null, 2));
}
