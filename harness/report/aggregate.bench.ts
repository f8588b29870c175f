import { execFile } from "node:child_process";
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createGzip, type Gzip } from "node:zlib";
import type { EntryRecord, Phase } from "../chaos/index.ts";
import { resolvePlan } from "../k6/terminal/plan-check.ts";
import {
  K6_RESULTS_FILE,
  LiveCounts,
  type Point,
  type RecordedResults,
  ResultsRecorder,
} from "../load/results.ts";
import { DEFAULT_LAB_KEY_HEX } from "../protocol/index.ts";
import { seededRandom } from "../sim/issuer/model.ts";
import { aggregateFile, createAggregator, SERVER_SAMPLES_FILE, type ServerSampleLine } from "./aggregate.ts";
import { chartData } from "./charts.ts";
import { buildModel, type RunJson } from "./model.ts";
import { ledgerFileOf, reconcileRun, terminalSideOf } from "./reconcile.ts";
import { renderHtml, uplotAssets } from "./render/html.ts";
import { renderVerdictJson } from "./render/json.ts";
import { renderJUnit } from "./render/junit.ts";
import { renderSummaryMarkdown } from "./render/markdown.ts";
import { renderRun } from "./report.ts";
import { type RunSeries, SERIES_FILE, writeSeries } from "./series.ts";
import { evaluate, type Slo, validateSlos } from "./slo.ts";

// Memory, time and size of reports for synthetic runs (the bar: 10 minutes at 2,000 ops/s within
// ~100 MB on disk and 1 GiB of memory for results, nothing sampled away). Points are generated here, not by k6.
//
// - benchAggregate: the streaming aggregator on in-memory points, then aggregateFile on a k6-results.json.gz;
// - benchReport: a whole run folder as `posstorm run` leaves it (k6's JSON lines through the ResultsRecorder,
//   a fault window, reversals, server scrapes, the issuers' ledgers), then `posstorm report` on it in child
//   processes of their own: time, CPU and the kernel's peak RSS (resourceUsage().maxRSS), and the disk used.
//
//   node --expose-gc harness/report/aggregate.bench.ts aggregate [seconds] [ops/s]
//   node harness/report/aggregate.bench.ts report [seconds] [ops/s]

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
  /** k6-results.json.gz of `fileSeconds` of the same load (posstorm's lines): its size, aggregateFile's speed. */
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

    // The same load as k6 writes it (--out json), for fileSeconds, stored as a run stores it (the recorder keeps
    // the pos_* lines, gzipped), then aggregateFile on it.
    const file = join(dir, K6_RESULTS_FILE);
    const recorder = new ResultsRecorder({ file });
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
          // k6's own metrics interleave with posstorm's; the recorder leaves them out
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
      lines += chunk.length / 2;
      if (!recorder.write(`${chunk.join("\n")}\n`))
        await new Promise<void>((resolve) => recorder.once("drain", () => resolve()));
    }
    await new Promise<void>((resolve) => recorder.end(resolve));
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

// ---- a whole run folder, and `posstorm report` on it -----------------------------------------------------

export interface SyntheticRunOptions {
  seconds: number;
  /** Operations per second, reversals included (an open model: the rate holds whatever the outcomes). */
  opsPerS: number;
  /** Issuer a answers late (after the 30 s response timeout for 40 % of its purchases) in this window. */
  fault: { atS: number; forS: number };
  /**
   * Write the issuers' ledgers as `posstorm run` collects them: one entry per purchase an issuer saw, NDJSON
   * gzipped (collected/issuer-<name>.ledger.ndjson.gz).
   */
  ledgers: boolean;
}

export interface SyntheticRun {
  operations: number;
  /** What k6 would have written (`--out json`, every metric): lines and bytes. */
  k6Lines: number;
  k6Bytes: number;
  /** What the ResultsRecorder kept and stored. */
  recorded: RecordedResults;
  /**
   * Wall time spent in the recorder with the live counts and the aggregator on its samples (what the harness
   * does while k6 runs: split, parse, aggregate, gzip), seconds.
   */
  recordS: number;
  /** Wall time to generate the whole folder, seconds. */
  generateS: number;
  ledgerEntries: number;
  timeouts: number;
  /** Purchases the terminals did not see approved (pos_unsettled samples). */
  unsettled: number;
  reversals: number;
}

const RUN_ID = "bench-report-20261122-060000";
const LOAD_START_MS = Date.UTC(2026, 10, 22, 6, 0, 0);
const TERMINALS = 20_000;
const FAULT_NAME = "issuer-a-late";

export const REPORT_SLOS: Slo[] = [
  {
    id: "purchase-timeouts",
    indicator: "timeout-rate",
    scope: { operation: "purchase" },
    objective: { max: 0.01 },
  },
  {
    id: "baseline-purchase-timeouts",
    indicator: "timeout-rate",
    scope: { operation: "purchase", phase: "baseline" },
    objective: { max: 0.002 },
  },
  {
    id: "worst-10s-response-timeouts",
    indicator: "timeout-rate",
    kind: "response",
    scope: { window: { worstOfS: 10 } },
    objective: { max: 0.05 },
    warn: { max: 0.02 },
  },
  {
    id: "baseline-purchase-p99",
    indicator: "latency",
    percentile: "p99",
    scope: { operation: "purchase", phase: "baseline" },
    objective: { max: 1000 },
  },
  {
    id: "worst-30s-p99",
    indicator: "latency",
    percentile: "p99",
    scope: { window: { worstOfS: 30 } },
    objective: { max: 35_000 },
  },
  { id: "issuer-a-errors", indicator: "error-rate", scope: { link: "issuer-a" }, objective: { max: 0.5 } },
  {
    id: "signin-success",
    indicator: "success-rate",
    scope: { operation: "signin" },
    objective: { min: 0.99 },
  },
  { id: "one-sided", indicator: "one-sided", objective: { max: 0 } },
  { id: "recovery", indicator: "recovery-time", objective: { max: 30 } },
];

/** A standard normal draw (Box–Muller). */
const gauss = (random: () => number) =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** k6's time format: RFC 3339 with nanoseconds. */
function k6Time(ms: number, random: () => number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${String(Math.floor(random() * 1e6)).padStart(6, "0")}Z`;
}

const TAIL = `"run":"${RUN_ID}","scenario":"open"`;
const point = (metric: string, time: string, value: number, tags: string) =>
  `{"metric":"${metric}","type":"Point","data":{"time":"${time}","value":${value},"tags":{${tags}}}}`;
const metricLine = (name: string, type: string, contains = "default") =>
  `{"type":"Metric","data":{"name":"${name}","type":"${type}","contains":"${contains}","thresholds":[],"submetrics":null},"metric":"${name}"}`;

/** Appends to a file stream, waiting when it asks to. */
async function put(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
}

/**
 * Writes `dir` as `posstorm run` leaves a completed run of an open-model purchase load: run.json (phases,
 * the fault's timeline, SLOs), plan.json, k6-results.json.gz (k6's JSON lines of every metric through the
 * ResultsRecorder, as runFleet stores them), server-metrics.jsonl (four programs scraped every second) and,
 * with `ledgers`, collected/issuer-{a,b}.ledger.ndjson.gz. No series.json: the report aggregates the raw file.
 *
 * Outcomes: 98.8 % approved, 0.8 % declined (51/55/61), a few connect timeouts, resets and closes; in the
 * fault window issuer a (3 purchases in 4) answers in 2 s (median) or, for 40 %, after the 30 s response
 * timeout: the terminal owes a reversal (pos_unsettled), sent as one of the next operations and approved.
 */
export async function writeSyntheticRun(dir: string, options: SyntheticRunOptions): Promise<SyntheticRun> {
  const started = performance.now();
  const { seconds, opsPerS, fault } = options;
  mkdirSync(join(dir, "collected"), { recursive: true });
  const random = seededRandom(2026);
  // As in `posstorm run`: every kept sample also goes to the live counts and the streaming aggregator.
  const live = new LiveCounts();
  const aggregator = createAggregator({ loadStartMs: LOAD_START_MS });
  const recorder = new ResultsRecorder({
    file: join(dir, K6_RESULTS_FILE),
    onPoint: (p) => {
      live.add(p);
      aggregator.add(p);
    },
  });
  let recordS = 0;
  const record = async (text: string) => {
    const t = performance.now();
    await put(recorder, text);
    recordS += (performance.now() - t) / 1000;
  };
  const ledgerOut = options.ledgers
    ? (["a", "b"] as const).map((issuer) => {
        // as collect() stores GET /ledger?format=ndjson: gzipped as it arrives
        const file = createWriteStream(join(dir, ledgerFileOf(`issuer-${issuer}`)));
        const out: Gzip = createGzip();
        out.pipe(file);
        return { out, file, rrn: 0 };
      })
    : undefined;
  const serverOut = createWriteStream(join(dir, SERVER_SAMPLES_FILE));
  const stans = new Uint32Array(TERMINALS);
  const pending: { tid: string; stan: string; issuer: number }[] = [];
  let k6Lines = 0;
  let k6Bytes = 0;
  let operations = 0;
  let ledgerEntries = 0;
  let timeouts = 0;
  let unsettled = 0;
  let reversals = 0;
  let pendingGauge = 0;

  await record(
    `${[
      metricLine("vus", "gauge"),
      metricLine("vus_max", "gauge"),
      metricLine("tcp_socket_connecting", "trend", "time"),
      metricLine("tcp_sockets", "counter"),
      metricLine("tcp_writes", "counter"),
      metricLine("tcp_reads", "counter"),
      metricLine("pos_ops", "counter"),
      metricLine("pos_op_duration", "trend", "time"),
      metricLine("pos_timeouts", "counter"),
      metricLine("pos_session_changes", "counter"),
      metricLine("pos_signed_in", "gauge"),
      metricLine("pos_reversal_events", "counter"),
      metricLine("pos_reversals_pending", "gauge"),
      metricLine("pos_unsettled", "counter"),
      metricLine("iterations", "counter"),
      metricLine("iteration_duration", "trend", "time"),
      metricLine("data_sent", "counter", "data"),
      metricLine("data_received", "counter", "data"),
    ].join("\n")}\n`,
  );

  for (let s = 0; s < seconds; s++) {
    const inFault = s >= fault.atS && s < fault.atS + fault.forS;
    // after the fault, issuer a's backlog drains over 10 s
    const afterFault = s - (fault.atS + fault.forS);
    const lateShare = inFault ? 0.4 : afterFault >= 0 && afterFault < 10 ? 0.4 * (1 - afterFault / 10) : 0;
    const lines: string[] = [];
    const ledgerLines: string[][] = [[], []];
    for (let i = 0; i < opsPerS; i++) {
      const endMs = LOAD_START_MS + s * 1000 + (i * 1000) / opsPerS + random();
      const time = k6Time(endMs, random);
      let op: "purchase" | "signin" | "reversal";
      let tidIndex: number;
      let stan: string;
      let reversalOf: (typeof pending)[number] | undefined;
      if (pending.length > 0 && random() < 0.5) {
        op = "reversal";
        reversalOf = pending.shift()!;
        tidIndex = Number(reversalOf.tid.slice(3)) - 1;
        stan = reversalOf.stan;
      } else {
        op = random() < 0.04 ? "signin" : "purchase";
        tidIndex = Math.floor(random() * TERMINALS);
        stans[tidIndex] = (stans[tidIndex]! % 999_999) + 1;
        stan = String(stans[tidIndex]).padStart(6, "0");
      }
      const tid = `POS${String(tidIndex + 1).padStart(5, "0")}`;
      const issuer = op === "purchase" ? (random() < 0.75 ? 0 : 1) : (reversalOf?.issuer ?? 0);
      let outcome = "approved";
      let code: string | undefined = "00";
      let ms: number;
      const r = random();
      if (op === "purchase" && issuer === 0 && lateShare > 0 && r < lateShare) {
        outcome = "timeout.response";
        code = undefined;
        ms = 30_000 + Math.round(random() * 5);
      } else if (r < 0.008) {
        outcome = "declined";
        code = r < 0.005 ? "51" : r < 0.007 ? "55" : "61";
        ms = Math.round(90 * Math.exp(0.6 * gauss(random)));
      } else if (r < 0.0085) {
        outcome = "timeout.connect";
        code = undefined;
        ms = 10_000 + Math.round(random() * 3);
      } else if (r < 0.0095) {
        outcome = random() < 0.6 ? "reset" : "closed";
        code = undefined;
        ms = Math.round(40 * Math.exp(0.8 * gauss(random)));
      } else {
        const median = op === "signin" ? 25 : op === "reversal" ? 60 : inFault && issuer === 0 ? 2_000 : 90;
        ms = Math.max(1, Math.round(median * Math.exp(0.65 * gauss(random))));
      }
      operations++;
      const opTags = `"group":"","op":"${op}","outcome":"${outcome}",${TAIL}`;
      const base = `"group":"",${TAIL}`;
      const startMs = endMs - ms;
      const startTime = k6Time(startMs, random);
      // k6/x/tcp's per-connection metrics and k6's per-iteration ones, as a short-connection terminal makes them
      lines.push(point("tcp_socket_connecting", startTime, Math.round(random() * 2e6) / 1e6, base));
      if (outcome !== "timeout.connect") {
        lines.push(point("tcp_sockets", startTime, 1, base), point("tcp_writes", startTime, 1, base));
        if (outcome === "approved" || outcome === "declined") lines.push(point("tcp_reads", time, 1, base));
      }
      lines.push(
        point("pos_ops", time, 1, code ? `"code":"${code}",${opTags}` : opTags),
        point("pos_op_duration", time, ms, opTags),
      );
      if (outcome.startsWith("timeout.")) {
        timeouts++;
        lines.push(
          point("pos_timeouts", time, 1, `"group":"","kind":"${outcome.slice(8)}","op":"${op}",${TAIL}`),
        );
      }
      if (op === "signin" && outcome === "approved") {
        lines.push(
          point("pos_session_changes", time, 1, `"change":"signed-in","group":"",${TAIL}`),
          point("pos_signed_in", time, 1 + Math.floor(random() * 20), base),
        );
      }
      if (op === "purchase" && outcome === "timeout.response") {
        pending.push({ tid, stan, issuer });
        pendingGauge++;
        unsettled++;
        lines.push(
          point("pos_reversal_events", time, 1, `"event":"queued","group":"",${TAIL}`),
          point("pos_reversals_pending", time, pendingGauge, base),
          point(
            "pos_unsettled",
            time,
            1,
            `"batch":"000001","group":"","reason":"98",${TAIL},"stan":"${stan}","tid":"${tid}"`,
          ),
        );
      }
      if (op === "reversal" && outcome === "approved") {
        reversals++;
        pendingGauge--;
        lines.push(
          point("pos_reversal_events", time, 1, `"event":"settled","group":"",${TAIL}`),
          point("pos_reversals_pending", time, pendingGauge, base),
        );
      } else if (op === "reversal") {
        pending.push(reversalOf!); // not settled: sent again later
      }
      lines.push(
        point("iterations", time, 1, base),
        point("iteration_duration", time, ms + Math.round(random() * 1e6) / 1e6, base),
        point("data_sent", time, 130, base),
        point("data_received", time, outcome === "approved" || outcome === "declined" ? 150 : 0, base),
      );
      // What the issuer saw: purchases that got to it (approved, declined, answered late and then reversed).
      if (ledgerOut && op === "purchase" && (code !== undefined || outcome === "timeout.response")) {
        const lateReply = outcome === "timeout.response";
        const repliedAt = Math.round(lateReply ? startMs + 31_000 : endMs - 1);
        const rrn = String(++ledgerOut[issuer]!.rrn).padStart(12, "0");
        const amount = String(100 + Math.floor(random() * 99_900)).padStart(12, "0");
        const status = lateReply ? "reversed" : outcome === "declined" ? "declined" : "approved";
        const responseCode = code ?? "00";
        ledgerLines[issuer]!.push(
          `{"tid":"${tid}","stan":"${stan}","batch":"000001","pan":"${issuer === 0 ? "6222 02** **** ***1 234" : "4111 11** **** 1111"}",` +
            `"amount":"${amount}","responseCode":"${responseCode}",` +
            (responseCode === "00"
              ? `"authCode":"${String(Math.floor(random() * 1e6)).padStart(6, "0")}",`
              : "") +
            `"rrn":"${rrn}","status":"${status}","receivedAt":${Math.round(startMs + 2)},"repliedAt":${repliedAt},` +
            `"replySent":${!lateReply},` +
            (lateReply ? `"reversedAt":${repliedAt + 2_000},"reversalAttempts":1}` : `"reversalAttempts":0}`),
        );
      }
    }
    lines.push(
      point("vus", k6Time(LOAD_START_MS + s * 1000 + 999, random), 400 + Math.floor(random() * 50), base0()),
      point("vus_max", k6Time(LOAD_START_MS + s * 1000 + 999, random), 4000, base0()),
    );
    const text = `${lines.join("\n")}\n`;
    k6Lines += lines.length;
    k6Bytes += Buffer.byteLength(text);
    await record(text);
    if (ledgerOut) {
      for (const [issuer, entries] of ledgerLines.entries()) {
        if (entries.length === 0) continue;
        const ledger = ledgerOut[issuer]!;
        await put(ledger.out, `${entries.join("\n")}\n`);
        ledgerEntries += entries.length;
      }
    }
    const t = LOAD_START_MS + s * 1000 + 275;
    const scrape = (role: string, metrics: Record<string, number>): string =>
      JSON.stringify({ t: t + Math.floor(random() * 5), role, metrics } satisfies ServerSampleLine);
    const inFlightA = inFault ? 800 + Math.floor(random() * 400) : Math.floor(random() * 30);
    await put(
      serverOut,
      `${[
        scrape("issuer-a", {
          issuer_in_flight: inFlightA,
          issuer_queue_depth: inFault ? 600 : 0,
          issuer_connections: 4,
        }),
        scrape("issuer-b", {
          issuer_in_flight: Math.floor(random() * 10),
          issuer_queue_depth: 0,
          issuer_connections: 4,
        }),
        scrape("switch", {
          switch_in_flight: inFlightA + Math.floor(random() * 40),
          switch_queue_depth: 0,
          switch_pending_reversals: inFault ? Math.floor(random() * 50) : 0,
          switch_sessions: Math.min(TERMINALS, 2_000 + s * 30),
          'switch_connections{mode="short"}': 150 + Math.floor(random() * 100),
          'switch_connections{mode="long"}': 0,
          'switch_issuer_connections{issuer="a"}': 4,
          'switch_issuer_connections{issuer="b"}': 4,
          switch_hsm_connections: 2,
        }),
        scrape("hsm", {
          hsm_queue_depth: 0,
          hsm_in_flight: Math.floor(random() * 4),
          hsm_utilisation: random() * 0.2,
          hsm_connections: 2,
        }),
      ].join("\n")}\n`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    recorder.once("error", reject);
    recorder.end(resolve);
  });
  for (const ledger of ledgerOut ?? []) {
    ledger.out.end();
    await new Promise<void>((resolve) => ledger.file.once("close", () => resolve()));
  }
  serverOut.end();
  await new Promise<void>((resolve) => serverOut.once("close", () => resolve()));

  const iso = (sinceStartS: number) => new Date(LOAD_START_MS + sinceStartS * 1000).toISOString();
  const faultEnd = fault.atS + fault.forS;
  const phases: Phase[] = [
    { name: "baseline", kind: "baseline", startS: 0, endS: fault.atS },
    { name: `fault:${FAULT_NAME}`, kind: "fault", startS: fault.atS, endS: faultEnd, entry: 0 },
    { name: "recovery", kind: "recovery", startS: faultEnd, endS: seconds, after: FAULT_NAME },
  ];
  const entry: EntryRecord = {
    index: 0,
    name: FAULT_NAME,
    description: "issuer-a: service time median 2000ms, p99 45000ms",
    kind: "issuer-slow",
    target: "issuer-a",
    atS: fault.atS,
    forS: fault.forS,
    status: "cleared",
    facts: {},
    appliedAt: { iso: iso(fault.atS + 0.01), sinceStartS: fault.atS + 0.01 },
    clearedBy: "schedule",
    clearedAt: { iso: iso(faultEnd + 0.01), sinceStartS: faultEnd + 0.01 },
  };
  const problems = validateSlos(REPORT_SLOS);
  if (problems.length > 0) throw new Error(`bench SLOs: ${problems.join("; ")}`);
  const run: RunJson = {
    runId: RUN_ID,
    profile: {
      name: "bench-report",
      description: `synthetic: ${opsPerS} ops/s for ${seconds} s, issuer a late`,
    },
    status: "completed",
    startedAt: iso(-20),
    loadStartedAt: iso(0),
    endedAt: iso(seconds + 40),
    phases,
    versions: { posstorm: "bench", node: process.version, k6: "synthetic", runtime: "containers" },
    timeline: { entries: [entry] },
    slos: REPORT_SLOS,
  };
  writeFileSync(join(dir, "run.json"), `${JSON.stringify(run, null, 2)}\n`);
  const plan = resolvePlan({
    version: 1,
    runId: RUN_ID,
    target: { host: "127.0.0.1", port: 9 },
    labKeyHex: DEFAULT_LAB_KEY_HEX,
    terminal: { count: TERMINALS, responseTimeoutMs: 30_000 },
    fleet: {
      model: "open",
      operation: "purchase",
      stages: [{ durationS: seconds, ratePerS: opsPerS }],
      preAllocatedVUs: 2_000,
      maxVUs: 4_000,
      terminals: TERMINALS,
    },
    durationS: seconds,
  });
  writeFileSync(join(dir, "plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
  return {
    operations,
    k6Lines,
    k6Bytes,
    recorded: recorder.stats,
    recordS,
    generateS: (performance.now() - started) / 1000,
    ledgerEntries,
    timeouts,
    unsettled,
    reversals,
  };
}

/** vus and vus_max carry no scenario tag in k6's output. */
function base0(): string {
  return `"group":"","run":"${RUN_ID}"`;
}

/** How `posstorm report` is timed in a child process: the whole renderRun, or each of its steps. */
export type RenderMode = "from-raw" | "from-series" | "steps";

export interface RenderFigures {
  mode: RenderMode;
  wallS: number;
  cpuS: number;
  /** The child's peak resident set (getrusage ru_maxrss), MiB. */
  maxRssMiB: number;
  /** For `steps`: each step's wall time and the peak RSS so far. */
  steps?: { step: string; wallS: number; maxRssMiB: number }[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const maxRssMiB = () => round2(process.resourceUsage().maxRSS / 1024);

/** Runs in the child: renders `dir` as `posstorm report` does and returns the figures. */
async function renderIn(dir: string, mode: RenderMode): Promise<RenderFigures> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const steps: NonNullable<RenderFigures["steps"]> = [];
  if (mode === "steps") {
    // renderRun's steps one at a time (harness/report/report.ts), each timed.
    let last = performance.now();
    const step = (name: string) => {
      const now = performance.now();
      steps.push({ step: name, wallS: Math.round(now - last) / 1000, maxRssMiB: maxRssMiB() });
      last = now;
    };
    const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as RunJson;
    const plan = JSON.parse(readFileSync(join(dir, "plan.json"), "utf8"));
    const series = await aggregateFile(dir);
    writeSeries(dir, series);
    step("aggregate k6-results.json.gz, write series.json");
    const reconciliation = await reconcileRun(dir, terminalSideOf(series), series.loadStartMs);
    step("reconcile: stream the issuers' ledgers");
    const model = buildModel({ run, plan, series, reconciliation, slos: run.slos ?? [] });
    step("evaluate: SLOs, phase figures, chart data");
    writeFileSync(join(dir, "verdict.json"), renderVerdictJson(model));
    writeFileSync(join(dir, "summary.md"), renderSummaryMarkdown(model));
    writeFileSync(join(dir, "junit.xml"), renderJUnit(model));
    step("render verdict.json, summary.md, junit.xml");
    writeFileSync(join(dir, "report.html"), renderHtml(model, uplotAssets()));
    step("render report.html");
  } else {
    await renderRun(dir, { reaggregate: mode === "from-raw" });
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    mode,
    wallS: round2((performance.now() - t0) / 1000),
    cpuS: round2((cpu.user + cpu.system) / 1e6),
    maxRssMiB: maxRssMiB(),
    ...(mode === "steps" ? { steps } : {}),
  };
}

const THIS_FILE = fileURLToPath(import.meta.url);

/** renderIn in a Node process of its own, so that its peak RSS is the report's alone. */
async function renderInChild(dir: string, mode: RenderMode): Promise<RenderFigures> {
  const { stdout } = await promisify(execFile)(process.execPath, [THIS_FILE, "render", dir, mode], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as RenderFigures;
}

export interface ReportBenchFigures {
  seconds: number;
  opsPerS: number;
  run: SyntheticRun;
  renders: RenderFigures[];
  /** Bytes on disk by file (path relative to the run folder), after the renders. */
  disk: Record<string, number>;
  /** from-raw and from-series again without the ledgers (when they were written), for comparison. */
  withoutLedgers: RenderFigures[];
}

function filesUnder(dir: string, prefix = ""): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(sizes, filesUnder(dir, path));
    else sizes[path] = statSync(join(dir, path)).size;
  }
  return sizes;
}

/**
 * A synthetic run folder of `seconds` at `opsPerS` (fault 60 s at the middle), then `posstorm report` on it
 * three ways in child processes: from the raw file (`--reaggregate`, or a folder without series.json), step by
 * step, and from series.json (the end of `posstorm run`, which writes series.json as it aggregates live).
 */
export interface ReportBenchOptions {
  seconds?: number;
  opsPerS?: number;
  /** Write the issuers' ledgers too (default true). */
  ledgers?: boolean;
  progress?: (line: string) => void;
}

export async function benchReport({
  seconds = 600,
  opsPerS = 2000,
  ledgers = true,
  progress = () => undefined,
}: ReportBenchOptions = {}): Promise<ReportBenchFigures> {
  const dir = mkdtempSync(join(tmpdir(), "posstorm-bench-report-"));
  try {
    const atS = Math.floor(seconds / 2);
    progress(`writing a synthetic run folder: ${seconds} s at ${opsPerS} ops/s …`);
    const run = await writeSyntheticRun(dir, { seconds, opsPerS, fault: { atS, forS: 60 }, ledgers });
    progress(
      `… ${run.operations.toLocaleString("en-US")} operations in ${run.generateS.toFixed(1)} s; rendering`,
    );
    const renders: RenderFigures[] = [];
    for (const mode of ["from-raw", "steps", "from-series"] as const) {
      renders.push(await renderInChild(dir, mode));
      progress(`${mode}: ${JSON.stringify(renders.at(-1))}`);
    }
    const disk = filesUnder(dir);
    const withoutLedgers: RenderFigures[] = [];
    if (ledgers) {
      rmSync(join(dir, "collected"), { recursive: true, force: true });
      for (const mode of ["from-raw", "from-series"] as const) {
        withoutLedgers.push(await renderInChild(dir, mode));
        progress(`${mode} without ledgers: ${JSON.stringify(withoutLedgers.at(-1))}`);
      }
    }
    return { seconds, opsPerS, run, renders, disk, withoutLedgers };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === THIS_FILE) {
  const [command = "aggregate", ...rest] = process.argv.slice(2);
  if (command === "render") {
    console.log(JSON.stringify(await renderIn(rest[0]!, rest[1] as RenderMode)));
  } else if (command === "report") {
    const [seconds, opsPerS] = rest.map(Number);
    const figures = await benchReport({
      seconds: seconds || 600,
      opsPerS: opsPerS || 2000,
      progress: (line) => console.error(line),
    });
    console.log(JSON.stringify(figures, null, 2));
  } else {
    // `aggregate [seconds] [ops/s] [file seconds]`, or the numbers alone
    const numbers = command === "aggregate" ? rest : [command, ...rest];
    const [seconds, opsPerS, fileSeconds] = numbers.map(Number);
    const figures = await benchAggregate(seconds || 600, opsPerS || 2000, fileSeconds || 60);
    console.log(JSON.stringify(figures, null, 2));
  }
}
