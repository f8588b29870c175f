import { execFile } from "node:child_process";
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createGzip, type Gzip } from "node:zlib";
import type { Operation, Outcome } from "../harness/fleet/plan.ts";
import { resolvePlan } from "../harness/fleet/plan-check.ts";
import { parseSampleLines, type Sample, sampleLine, tenthMs } from "../harness/fleet/samples.ts";
import { DEFAULT_LAB_KEY_HEX } from "../harness/protocol/index.ts";
import {
  aggregateFile,
  createAggregator,
  SAMPLES_FILE,
  SERVER_SAMPLES_FILE,
  type ServerSampleLine,
} from "../harness/report/aggregate.ts";
import { buildModel, type RunJson } from "../harness/report/model.ts";
import { ledgerFileOf, reconcileRun, terminalSideOf } from "../harness/report/reconcile.ts";
import { renderHtml, uplotAssets } from "../harness/report/render/html.ts";
import { renderVerdictJson } from "../harness/report/render/json.ts";
import { renderJUnit } from "../harness/report/render/junit.ts";
import { renderSummaryMarkdown } from "../harness/report/render/markdown.ts";
import { renderRun } from "../harness/report/report.ts";
import { writeSeries } from "../harness/report/series.ts";
import { type Slo, validateSlos } from "../harness/report/slo.ts";
import { writeRunFrame } from "../harness/report/testing/run-frame.ts";
import { COLLECTED_DIR, readPlanJson, readRunJson } from "../harness/run-folder/index.ts";
import { seededRandom } from "../harness/sim/issuer/model.ts";
import { slo } from "../harness/slo/index.ts";

// `posstorm report` on a whole synthetic run folder (`npm run bench -- report`): the folder as `posstorm run`
// leaves it (the fleet engine's raw samples in samples.ndjson.gz, fed to the streaming aggregator as they are
// written, a fault window, reversals, server scrapes, the issuers' ledgers), then the report on it in child
// processes of their own: time, CPU and the kernel's peak RSS (resourceUsage().maxRSS), and the disk used.
// The aggregator alone, on in-memory samples and on a samples file: aggregate.bench.ts.
//
//   node bench/report.bench.ts report [seconds] [ops/s]

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
  /** samples.ndjson.gz: sample records (operations and events), NDJSON bytes, bytes of the gzip file. */
  samples: { records: number; bytes: number; gzipBytes: number };
  /**
   * Wall time of what `posstorm run`'s main thread does with the samples the segments send: write them to the
   * gzip stream (waiting for it when it asks to), parse them, count them, feed them to the aggregator; seconds.
   */
  recordS: number;
  /** The part of recordS spent parsing, counting and aggregating (Aggregator.addSample), seconds. */
  aggregateS: number;
  /** Wall time to generate the whole folder, seconds. */
  generateS: number;
  /** Operations by outcome, counted inline as the samples were fed (what the live line counts). */
  outcomes: Record<string, number>;
  ledgerEntries: number;
  timeouts: number;
  /** Purchases the terminals did not see approved (`unsettled` samples: response timeouts and declines). */
  unsettled: number;
  /** Reversals settled. */
  reversals: number;
}

const RUN_ID = "bench-report-20261122-060000";
const LOAD_START_MS = Date.UTC(2026, 10, 22, 6, 0, 0);
const TERMINALS = 20_000;
/** Worker segments of the fleet: terminal i in segment i mod SEGMENTS. */
const SEGMENTS = 2;
/** Reversal attempts before a pending reversal is abandoned (the terminal default). */
const REVERSAL_ATTEMPTS = 3;
const FAULT_NAME = "issuer-a-late";

export const REPORT_SLOS: Slo[] = [
  slo.timeouts("purchase", 0.01),
  slo.timeouts("purchase", 0.002, { id: "baseline-purchase-timeouts", phase: "baseline" }),
  {
    id: "worst-10s-response-timeouts",
    indicator: "timeout-rate",
    kind: "response",
    scope: { window: { worstOfS: 10 } },
    objective: { max: 0.05 },
    warn: { max: 0.02 },
  },
  slo.p99("purchase", 1000, { id: "baseline-purchase-p99", phase: "baseline" }),
  {
    id: "worst-30s-p99",
    indicator: "latency",
    percentile: "p99",
    scope: { window: { worstOfS: 30 } },
    objective: { max: 35_000 },
  },
  { id: "issuer-a-errors", indicator: "error-rate", scope: { link: "issuer-a" }, objective: { max: 0.5 } },
  slo.success("signin", 0.99),
  slo.oneSided(),
  { id: "recovery", indicator: "recovery-time", objective: { max: 30 } },
];

/** A standard normal draw (Box–Muller). */
const gauss = (random: () => number) =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** Appends to a stream, waiting when it asks to. */
async function put(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
}

/**
 * Writes `dir` as `posstorm run` leaves a completed run of an open-model purchase load: run.json (loadStartedAt,
 * phases, the fault's timeline, SLOs), plan.json, samples.ndjson.gz (the fleet's raw samples, gzipped at
 * level 3 as runFleet stores them; generated far faster than a fleet makes them, so the writes wait for the
 * gzip stream), server-metrics.jsonl (four programs scraped every second) and, with `ledgers`,
 * collected/issuer-{a,b}.ledger.ndjson.gz. No series.json: the report aggregates the raw samples. Every sample
 * also goes to the streaming aggregator, as `posstorm run` feeds it.
 *
 * Samples come in the order operations end (as the segments send them); an operation's `t` is its intended
 * start, `ms` intended start → outcome. Outcomes: 98.8 % approved, 0.8 % declined (51/55/61), a few connect
 * timeouts, resets and closes; in the fault window issuer a (3 purchases in 4) answers in 2 s (median) or, for
 * 40 %, after the 30 s response timeout: the terminal owes a reversal (`reversal` queued, `unsettled` with
 * reason 98), sent as one of the next operations (a `retry` when sent again; abandoned after 3 attempts).
 * Declined purchases are `unsettled` too (reason `declined:<code>`), as the terminal model records them.
 */
export async function writeSyntheticRun(dir: string, options: SyntheticRunOptions): Promise<SyntheticRun> {
  const started = performance.now();
  const { seconds, opsPerS, fault } = options;
  mkdirSync(join(dir, COLLECTED_DIR), { recursive: true });
  const random = seededRandom(2026);

  // As runFleet stores them: NDJSON through gzip (level 3) into samples.ndjson.gz.
  const gzip = createGzip({ level: 3 });
  const samplesFile = createWriteStream(join(dir, SAMPLES_FILE));
  const samplesDone = pipeline(gzip, samplesFile);
  // As `posstorm run` does with each batch the segments send: write, parse, count, aggregate.
  const aggregator = createAggregator({ loadStartMs: LOAD_START_MS });
  const outcomes: Record<string, number> = {};
  let signedIn = 0;
  let records = 0;
  let bytes = 0;
  let recordS = 0;
  let aggregateS = 0;
  const record = async (text: string) => {
    const t0 = performance.now();
    await put(gzip, text);
    const t1 = performance.now();
    for (const sample of parseSampleLines(text)) {
      records++;
      if (!("ev" in sample)) outcomes[sample.outcome] = (outcomes[sample.outcome] ?? 0) + 1;
      else if (sample.ev === "session") signedIn += sample.change === "signed-in" ? 1 : -1;
      aggregator.addSample(sample);
    }
    const t2 = performance.now();
    recordS += (t2 - t0) / 1000;
    aggregateS += (t2 - t1) / 1000;
    bytes += Buffer.byteLength(text);
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
  const signedInTerminals = new Uint8Array(TERMINALS);
  const pending: { tidIndex: number; stan: string; issuer: number; attempts: number }[] = [];
  let operations = 0;
  let ledgerEntries = 0;
  let timeouts = 0;
  let unsettled = 0;
  let reversals = 0;

  for (let s = 0; s < seconds; s++) {
    const inFault = s >= fault.atS && s < fault.atS + fault.forS;
    // after the fault, issuer a's backlog drains over 10 s
    const afterFault = s - (fault.atS + fault.forS);
    const lateShare = inFault ? 0.4 : afterFault >= 0 && afterFault < 10 ? 0.4 * (1 - afterFault / 10) : 0;
    const lines: string[] = [];
    const emit = (sample: Sample) => lines.push(sampleLine(sample));
    const ledgerLines: string[][] = [[], []];
    for (let i = 0; i < opsPerS; i++) {
      // ms since load start when the operation ended: operations end at the load's rate
      const endT = s * 1000 + (i * 1000) / opsPerS + random();
      let op: Operation;
      let tidIndex: number;
      let stan: string;
      let reversalOf: (typeof pending)[number] | undefined;
      if (pending.length > 0 && random() < 0.5) {
        op = "reversal";
        reversalOf = pending.shift()!;
        reversalOf.attempts++;
        tidIndex = reversalOf.tidIndex;
        stan = reversalOf.stan;
      } else {
        op = random() < 0.04 ? "signin" : "purchase";
        tidIndex = Math.floor(random() * TERMINALS);
        stans[tidIndex] = (stans[tidIndex]! % 999_999) + 1;
        stan = String(stans[tidIndex]).padStart(6, "0");
      }
      const tid = `POS${String(tidIndex + 1).padStart(5, "0")}`;
      const segment = tidIndex % SEGMENTS;
      const issuer = op === "purchase" ? (random() < 0.75 ? 0 : 1) : (reversalOf?.issuer ?? 0);
      let outcome: Outcome = "approved";
      let code: string | undefined = "00";
      let ms: number;
      const r = random();
      if (op === "purchase" && issuer === 0 && lateShare > 0 && r < lateShare) {
        outcome = "timeout.response";
        code = undefined;
        ms = 30_000 + random() * 5;
      } else if (r < 0.008) {
        outcome = "declined";
        code = r < 0.005 ? "51" : r < 0.007 ? "55" : "61";
        ms = 90 * Math.exp(0.6 * gauss(random));
      } else if (r < 0.0085 && endT > 10_010) {
        outcome = "timeout.connect";
        code = undefined;
        ms = 10_000 + random() * 3;
      } else if (r < 0.0095) {
        outcome = random() < 0.6 ? "reset" : "closed";
        code = undefined;
        ms = 40 * Math.exp(0.8 * gauss(random));
      } else {
        const median = op === "signin" ? 25 : op === "reversal" ? 60 : inFault && issuer === 0 ? 2_000 : 90;
        ms = Math.max(1, median * Math.exp(0.65 * gauss(random)));
      }
      ms = tenthMs(Math.min(ms, endT)); // nothing started before the load did
      const t = tenthMs(Math.max(0, endT - ms));
      const at = tenthMs(t + ms); // when it ended: the events it caused happen then
      // a pending reversal goes out right after the operation before it on its terminal: no lateness
      const lag = op === "reversal" ? 0 : tenthMs(random() < 0.01 ? random() * 20 : random() * 1.5);
      operations++;
      if (op === "reversal" && reversalOf!.attempts > 1)
        emit({ t: tenthMs(t + lag), ev: "retry", op, tid, segment });
      if (op === "signin" && outcome === "approved" && signedInTerminals[tidIndex] === 0) {
        signedInTerminals[tidIndex] = 1;
        emit({ t: at, ev: "session", change: "signed-in", tid, segment });
      }
      if (op === "purchase" && outcome === "timeout.response") {
        pending.push({ tidIndex, stan, issuer, attempts: 0 });
        unsettled++;
        emit({ t: at, ev: "reversal", event: "queued", tid, segment });
        emit({ t: at, ev: "unsettled", tid, stan, batch: "000001", reason: "98", segment });
      } else if (op === "purchase" && outcome === "declined") {
        unsettled++;
        emit({ t: at, ev: "unsettled", tid, stan, batch: "000001", reason: `declined:${code}`, segment });
      }
      if (op === "reversal" && outcome === "approved") {
        reversals++;
        emit({ t: at, ev: "reversal", event: "settled", tid, segment });
      } else if (op === "reversal" && reversalOf!.attempts >= REVERSAL_ATTEMPTS) {
        emit({ t: at, ev: "reversal", event: "abandoned", tid, segment });
      } else if (op === "reversal") {
        pending.push(reversalOf!); // not settled: sent again later
      }
      if (outcome.startsWith("timeout.")) timeouts++;
      emit(
        code === undefined
          ? { t, op, outcome, ms, lag, tid, segment }
          : { t, op, outcome, code, ms, lag, tid, segment },
      );
      // What the issuer saw: purchases that got to it (approved, declined, answered late and then reversed).
      if (ledgerOut && op === "purchase" && (code !== undefined || outcome === "timeout.response")) {
        const startMs = LOAD_START_MS + t + lag;
        const endMs = LOAD_START_MS + at;
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
    await record(lines.join(""));
    if (ledgerOut) {
      for (const [issuer, entries] of ledgerLines.entries()) {
        if (entries.length === 0) continue;
        const ledger = ledgerOut[issuer]!;
        await put(ledger.out, `${entries.join("\n")}\n`);
        ledgerEntries += entries.length;
      }
    }
    const scrapeAt = LOAD_START_MS + s * 1000 + 275;
    const scrape = (role: string, metrics: Record<string, number>): string =>
      JSON.stringify({ t: scrapeAt + Math.floor(random() * 5), role, metrics } satisfies ServerSampleLine);
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
          switch_sessions: Math.min(TERMINALS, signedIn),
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
  gzip.end();
  await samplesDone;
  for (const ledger of ledgerOut ?? []) {
    ledger.out.end();
    await new Promise<void>((resolve) => ledger.file.once("close", () => resolve()));
  }
  serverOut.end();
  await new Promise<void>((resolve) => serverOut.once("close", () => resolve()));

  const iso = (sinceStartS: number) => new Date(LOAD_START_MS + sinceStartS * 1000).toISOString();
  const problems = validateSlos(REPORT_SLOS);
  if (problems.length > 0) throw new Error(`bench SLOs: ${problems.join("; ")}`);
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
  // run.json and plan.json (the fleet's plan, the fault's phases, the SLOs) as the report tests write them
  writeRunFrame(dir, {
    runId: RUN_ID,
    profile: {
      name: "bench-report",
      description: `synthetic: ${opsPerS} ops/s for ${seconds} s, issuer a late`,
    },
    loadStartMs: LOAD_START_MS,
    durationS: seconds,
    fault: {
      name: FAULT_NAME,
      description: "issuer-a: service time median 2000ms, p99 45000ms",
      kind: "issuer-slow",
      target: "issuer-a",
      atS: fault.atS,
      forS: fault.forS,
      appliedS: fault.atS + 0.01,
      clearedS: fault.atS + fault.forS + 0.01,
    },
    versions: { posstorm: "bench", node: process.version, fleet: "synthetic samples", runtime: "containers" },
    plan: { ...plan, slos: REPORT_SLOS },
    run: {
      startedAt: iso(-20),
      endedAt: iso(seconds + 40),
      // a synthetic run: of the fleet's facts, only what the report reads
      fleet: { generator: { limited: false, reasons: [] } } as unknown as RunJson["fleet"],
    },
  });
  return {
    operations,
    samples: { records, bytes, gzipBytes: samplesFile.bytesWritten },
    recordS,
    aggregateS,
    generateS: (performance.now() - started) / 1000,
    outcomes,
    ledgerEntries,
    timeouts,
    unsettled,
    reversals,
  };
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
    const run = readRunJson(dir);
    const plan = readPlanJson(dir);
    const series = await aggregateFile(dir);
    writeSeries(dir, series);
    step(`aggregate ${SAMPLES_FILE}, write series.json`);
    const reconciliation = await reconcileRun(dir, terminalSideOf(series), series.loadStartMs);
    step("reconcile: stream the issuers' ledgers");
    const model = buildModel({ run, plan, series, reconciliation, slos: plan.slos ?? [] });
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

export interface ReportBenchOptions {
  seconds?: number;
  opsPerS?: number;
  /** Write the issuers' ledgers too (default true). */
  ledgers?: boolean;
  progress?: (line: string) => void;
}

/**
 * A synthetic run folder of `seconds` at `opsPerS` (fault 60 s at the middle), then `posstorm report` on it
 * three ways in child processes: from the raw samples (`--reaggregate`, or a folder without series.json), step
 * by step, and from series.json (the end of `posstorm run`, which writes series.json as it aggregates live).
 */
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
  const [command = "report", ...rest] = process.argv.slice(2);
  if (command === "render") {
    console.log(JSON.stringify(await renderIn(rest[0]!, rest[1] as RenderMode)));
  } else {
    // `report [seconds] [ops/s]`, or the numbers alone
    const numbers = command === "report" ? rest : [command, ...rest];
    const [seconds, opsPerS] = numbers.map(Number);
    const figures = await benchReport({
      seconds: seconds || 600,
      opsPerS: opsPerS || 2000,
      progress: (line) => console.error(line),
    });
    console.log(JSON.stringify(figures, null, 2));
  }
}
