import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Point } from "../load/results.ts";
import { aggregateFile, createAggregator } from "./aggregate.ts";
import { chartData } from "./charts.ts";
import { type RunSeries, SERIES_FILE, writeSeries } from "./series.ts";
import { evaluate, type Slo } from "./slo.ts";

// Memory and size of the aggregation for a synthetic run: `seconds` at `opsPerS` operations per second (the
// issue's bar: 10 minutes at 2,000 ops/s within ~100 MB on disk and 1 GiB of memory, nothing sampled away).
// Points are generated here, not by k6. Run: node --expose-gc harness/report/aggregate.bench.ts [seconds] [ops/s]

export interface AggregateFigures {
  seconds: number;
  opsPerS: number;
  operations: number;
  points: number;
  /** Wall-clock time to aggregate the in-memory points. */
  aggregateS: number;
  pointsPerS: number;
  /** Memory the series holds once done (JS heap + array buffers, after GC when --expose-gc), MB. */
  retainedMB: number;
  /** Peak RSS of the process during the bench, MB. */
  peakRssMB: number;
  seriesJsonMB: number;
  /** Time to evaluate a handful of SLOs, one with a sliding latency window. */
  evaluateS: number;
  /** k6-results.json of `fileSeconds` of the same load: its size and aggregateFile's speed. */
  file: { seconds: number; lines: number; sizeMB: number; aggregateS: number; linesPerS: number };
}

const OUTCOMES: [string, number, number][] = [
  // outcome, share, duration scale (ms)
  ["approved", 0.975, 0],
  ["declined", 0.01, 0],
  ["timeout.response", 0.006, 60_000],
  ["timeout.connect", 0.004, 10_000],
  ["reset", 0.005, 0],
];

/** Deterministic points of one second of synthetic load. */
function* secondOfLoad(
  loadStartMs: number,
  s: number,
  opsPerS: number,
  random: () => number,
): Generator<Point> {
  for (let i = 0; i < opsPerS; i++) {
    const timeMs = loadStartMs + s * 1000 + Math.floor((i * 1000) / opsPerS);
    const r = random();
    const op = r < 0.9 ? "purchase" : r < 0.98 ? "signin" : "reversal";
    let pick = random();
    let outcome = "approved";
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
    const ms = fixedMs || Math.round(15 + 40 * Math.exp(random() * 2.5) * (random() < 0.01 ? 20 : 1));
    const code =
      outcome === "approved" ? "00" : outcome === "declined" ? (random() < 0.5 ? "51" : "96") : undefined;
    yield { metric: "pos_ops", timeMs, value: 1, tags: { op, outcome, ...(code ? { code } : {}) } };
    yield { metric: "pos_op_duration", timeMs, value: ms, tags: { op, outcome } };
    if (outcome.startsWith("timeout.")) {
      yield { metric: "pos_timeouts", timeMs, value: 1, tags: { op, kind: outcome.slice(8) } };
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
  let points = 0;
  const started = performance.now();
  for (let s = 0; s < seconds; s++) {
    for (const point of secondOfLoad(loadStartMs, s, opsPerS, random)) {
      aggregator.add(point);
      points++;
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

    // The same load as k6 would write it (--out json), for fileSeconds, then aggregateFile on it.
    const file = join(dir, "k6-results.json");
    const out = createWriteStream(file);
    const fileRandom = lcg(7);
    let lines = 0;
    for (let s = 0; s < fileSeconds; s++) {
      const chunk: string[] = [];
      for (const p of secondOfLoad(loadStartMs, s, opsPerS, fileRandom)) {
        chunk.push(
          JSON.stringify({
            metric: p.metric,
            type: "Point",
            data: {
              time: new Date(p.timeMs).toISOString(),
              value: p.value,
              tags: { ...p.tags, group: "", run: "bench", scenario: "open" },
            },
          }),
          // k6's own metrics interleave with posstorm's; aggregateFile skips them
          JSON.stringify({
            metric: "tcp_reads",
            type: "Point",
            data: {
              time: new Date(p.timeMs).toISOString(),
              value: 1,
              tags: { group: "", run: "bench", scenario: "open" },
            },
          }),
        );
      }
      lines += chunk.length;
      if (!out.write(`${chunk.join("\n")}\n`))
        await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    }
    await new Promise<void>((resolve) => out.end(resolve));
    const sizeMB = mb(statSync(file).size);
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
      points,
      aggregateS: Math.round(aggregateS * 100) / 100,
      pointsPerS: Math.round(points / aggregateS),
      retainedMB,
      peakRssMB: mb(peakRss),
      seriesJsonMB,
      evaluateS: Math.round(evaluateS * 100) / 100,
      file: {
        seconds: fileSeconds,
        lines,
        sizeMB,
        aggregateS: Math.round(fileAggregateS * 100) / 100,
        linesPerS: Math.round(lines / fileAggregateS),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [seconds, opsPerS, fileSeconds] = process.argv.slice(2).map(Number);
  const figures = await benchAggregate(seconds || 600, opsPerS || 2000, fileSeconds || 60);
  console.log(JSON.stringify(figures, null, 2));
}
