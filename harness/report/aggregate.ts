import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createGunzip, constants as zlibConstants } from "node:zlib";
import type { Sample } from "../fleet/index.ts";
import { COLLECTED_DIR, RUN_FILES, readRunJson, runFile } from "../run-folder/index.ts";
import { parsePrometheus } from "../shared/prometheus.ts";
import { type Histogram, newHistogram, recordMs } from "./histogram.ts";
import { K6_RESULTS_FILE, type Point, parsePoint } from "./points.ts";
import { type CountTable, type RunSeries, SERIES_VERSION, type UnsettledPurchase } from "./series.ts";

// Streaming aggregation: k6 samples (and scrapes of the lab programs) go in one at a time, per-slot counts and
// histograms come out. Memory is proportional to the run's length in seconds, not to its operations.

/** Server metrics kept whatever their type. */
const SERVER_ALWAYS = new Set([
  "switch_in_flight",
  "switch_queue_depth",
  "switch_late_replies_total",
  "switch_pending_reversals",
  "hsm_utilisation",
  "hsm_queue_depth",
  // every program's memory: a soak's leaks show here
  "process_resident_memory_bytes",
  // every program's CPU time (cores = its rise per second): what saturated in a capacity step
  "process_cpu_seconds_total",
]);

/**
 * Whether a scraped `name{labels}` key goes into the server series: the listed ones, every switch_*, hsm_* or
 * issuer_* gauge (names without a counter or histogram suffix), and `extra` names (a user's switch's, kept as
 * they come: counters too).
 */
export function keepServerMetric(key: string, extra?: ReadonlySet<string>): boolean {
  if (SERVER_ALWAYS.has(key)) return true;
  const name = key.replace(/\{.*$/, "");
  if (extra?.has(name) || extra?.has(key)) return true;
  if (!/^(switch|hsm|issuer)_/.test(name)) return false;
  return !/_(total|bucket|sum|count|created)$/.test(name);
}

/** The k6 metrics the aggregator reads; the per-VU gauges and pos_schedule_lag are left to k6's summary. */
export const AGGREGATED_METRICS: ReadonlySet<string> = new Set([
  "pos_ops",
  "pos_op_duration",
  "pos_timeouts",
  "pos_retries",
  "pos_skipped",
  "pos_reversal_events",
  "pos_session_changes",
  "pos_unsettled",
]);

/** The metric a k6 `Point` line names, without parsing it (k6 writes `{"metric":"…",…`); else undefined. */
function pointMetric(line: string): string | undefined {
  const prefix = '{"metric":"';
  if (!line.startsWith(prefix)) return undefined;
  const end = line.indexOf('"', prefix.length);
  return end < 0 ? undefined : line.slice(prefix.length, end);
}

export interface AggregatorOptions {
  /** Load start, ms since the epoch: slot 0 begins there. */
  loadStartMs: number;
  /** Slot length, seconds (default 1). */
  stepS?: number;
  /** Slots beyond this are folded into the last one (default 8 days of seconds): a guard against bad clocks. */
  maxSlots?: number;
}

export interface Aggregator {
  /** One k6 sample (as parsePoint returns it); anything that is not a posstorm metric is ignored. */
  add(point: Point): void;
  /**
   * One raw sample of the fleet engine (a line of samples.ndjson.gz). An operation counts in the second it
   * ended (`t` + `ms`), as k6's samples did; its latency is `ms`, from its intended start.
   */
  addSample(sample: Sample): void;
  /** One scrape of a lab program at `tMs`: its parsed /metrics (parsePrometheus); unlisted metrics are dropped. */
  addServerSample(tMs: number, role: string, metrics: ReadonlyMap<string, number>): void;
  /** The series so far (arrays padded to the same length); the aggregator can keep going afterwards. */
  result(): RunSeries;
}

const bump = (values: number[], slot: number, by: number) => {
  while (values.length <= slot) values.push(0);
  values[slot]! += by;
};

/** record[key], created by `init` when missing. */
function entry<T>(record: Record<string, T>, key: string, init: () => T): T {
  let value = record[key];
  if (value === undefined) {
    value = init();
    record[key] = value;
  }
  return value;
}

const cell = (table: CountTable, a: string, b: string): number[] =>
  entry(
    entry(table, a, () => ({})),
    b,
    () => [],
  );

const pad = <T>(values: T[], length: number, fill: T): T[] => {
  const out = values.slice(0, length);
  while (out.length < length) out.push(fill);
  return out;
};

const TIMEOUT_KINDS: Partial<Record<string, string>> = {
  "timeout.connect": "connect",
  "timeout.response": "response",
  "timeout.idle": "idle",
};

export function createAggregator(options: AggregatorOptions): Aggregator {
  const stepMs = (options.stepS ?? 1) * 1000;
  const maxSlots = options.maxSlots ?? Math.ceil((8 * 24 * 3600 * 1000) / stepMs);
  const ops: CountTable = {};
  const timeouts: CountTable = {};
  const codes: CountTable = {};
  const retries: Record<string, number[]> = {};
  const skipped: Record<string, number[]> = {};
  const reversals: Record<string, number[]> = {};
  const sessionDelta: number[] = [];
  const latency: Record<string, (Histogram | null)[]> = {};
  const server: Record<string, Record<string, (number | null)[]>> = {};
  const unsettled: UnsettledPurchase[] = [];
  /** Open-model arrivals dropped for want of a free terminal, per slot. */
  const dropped: number[] = [];
  let slots = 0;
  let points = 0;
  let early = 0;

  const slotOf = (timeMs: number) => {
    const raw = Math.floor((timeMs - options.loadStartMs) / stepMs);
    const slot = Math.min(Math.max(raw, 0), maxSlots - 1);
    if (slot + 1 > slots) slots = slot + 1;
    return { slot, early: raw < 0 };
  };

  const aggregator: Aggregator = {
    add(point) {
      if (!point.metric.startsWith("pos_") || !Number.isFinite(point.timeMs)) return;
      const { tags } = point;
      const op = tags.op ?? "?";
      let slot: number;
      switch (point.metric) {
        case "pos_ops": {
          const at = slotOf(point.timeMs);
          slot = at.slot;
          if (at.early) early++;
          bump(cell(ops, op, tags.outcome ?? "?"), slot, point.value);
          if (tags.code !== undefined) bump(cell(codes, op, tags.code), slot, point.value);
          break;
        }
        case "pos_op_duration": {
          slot = slotOf(point.timeMs).slot;
          const perSlot = entry(latency, op, () => []);
          while (perSlot.length <= slot) perSlot.push(null);
          let histogram = perSlot[slot];
          if (!histogram) {
            histogram = newHistogram();
            perSlot[slot] = histogram;
          }
          recordMs(histogram, point.value);
          break;
        }
        case "pos_timeouts":
          bump(cell(timeouts, op, tags.kind ?? "?"), slotOf(point.timeMs).slot, point.value);
          break;
        case "pos_retries":
          bump(
            entry(retries, op, () => []),
            slotOf(point.timeMs).slot,
            point.value,
          );
          break;
        case "pos_skipped":
          bump(
            entry(skipped, op, () => []),
            slotOf(point.timeMs).slot,
            point.value,
          );
          break;
        case "pos_reversal_events":
          bump(
            entry(reversals, tags.event ?? "?", () => []),
            slotOf(point.timeMs).slot,
            point.value,
          );
          break;
        case "pos_session_changes":
          bump(
            sessionDelta,
            slotOf(point.timeMs).slot,
            tags.change === "signed-out" ? -point.value : point.value,
          );
          break;
        case "pos_unsettled":
          slotOf(point.timeMs);
          if (tags.tid !== undefined && tags.stan !== undefined) {
            unsettled.push({
              tid: tags.tid,
              stan: tags.stan,
              ...(tags.batch !== undefined ? { batch: tags.batch } : {}),
              ...((tags.reason ?? tags.outcome) !== undefined ? { reason: tags.reason ?? tags.outcome } : {}),
              timeMs: point.timeMs,
            });
          }
          break;
        default:
          // per-VU gauges (pos_signed_in, pos_reversals_pending) are derived from the counters instead
          return;
      }
      points++;
    },

    addSample(sample) {
      const at = options.loadStartMs + sample.t;
      if (!("ev" in sample)) {
        const done = at + sample.ms;
        const tags: Record<string, string> = { op: sample.op, outcome: sample.outcome };
        if (sample.code !== undefined) tags.code = sample.code;
        aggregator.add({ metric: "pos_ops", timeMs: done, value: 1, tags });
        aggregator.add({
          metric: "pos_op_duration",
          timeMs: done,
          value: sample.ms,
          tags: { op: sample.op },
        });
        const kind = TIMEOUT_KINDS[sample.outcome];
        if (kind)
          aggregator.add({ metric: "pos_timeouts", timeMs: done, value: 1, tags: { op: sample.op, kind } });
        return;
      }
      switch (sample.ev) {
        case "session":
          return aggregator.add({
            metric: "pos_session_changes",
            timeMs: at,
            value: 1,
            tags: { change: sample.change },
          });
        case "reversal":
          return aggregator.add({
            metric: "pos_reversal_events",
            timeMs: at,
            value: 1,
            tags: { event: sample.event },
          });
        case "retry":
          return aggregator.add({ metric: "pos_retries", timeMs: at, value: 1, tags: { op: sample.op } });
        case "skipped":
          return aggregator.add({
            metric: "pos_skipped",
            timeMs: at,
            value: 1,
            tags: { op: sample.op, reason: sample.reason },
          });
        case "unsettled": {
          const { tid, stan, batch, reason } = sample;
          return aggregator.add({
            metric: "pos_unsettled",
            timeMs: at,
            value: 1,
            tags: { tid, stan, batch, reason },
          });
        }
        case "dropped":
          bump(dropped, slotOf(at).slot, 1);
          return;
      }
    },

    addServerSample(tMs, role, metrics) {
      const { slot } = slotOf(tMs);
      const byMetric = entry(server, role, () => ({}));
      for (const [key, value] of metrics) {
        // The scraper kept what the series holds (keepServerMetric, and a user's switch's named metrics).
        if (!Number.isFinite(value)) continue;
        const values = entry<(number | null)[]>(byMetric, key, () => []);
        while (values.length <= slot) values.push(null);
        values[slot] = value;
      }
    },

    result() {
      const n = slots;
      const padTable = (table: CountTable): CountTable =>
        Object.fromEntries(
          Object.entries(table).map(([a, byKey]) => [
            a,
            Object.fromEntries(Object.entries(byKey).map(([b, v]) => [b, pad(v, n, 0)])),
          ]),
        );
      const padFlat = (table: Record<string, number[]>) =>
        Object.fromEntries(Object.entries(table).map(([k, v]) => [k, pad(v, n, 0)]));
      const signedIn: number[] = [];
      let running = 0;
      for (let i = 0; i < n; i++) {
        running += sessionDelta[i] ?? 0;
        signedIn.push(running);
      }
      return {
        version: SERIES_VERSION,
        loadStartMs: options.loadStartMs,
        stepS: stepMs / 1000,
        slots: n,
        ops: padTable(ops),
        timeouts: padTable(timeouts),
        codes: padTable(codes),
        retries: padFlat(retries),
        skipped: padFlat(skipped),
        reversals: padFlat(reversals),
        signedIn,
        latency: Object.fromEntries(Object.entries(latency).map(([op, v]) => [op, pad(v, n, null)])),
        server: Object.fromEntries(
          Object.entries(server).map(([role, byMetric]) => [
            role,
            Object.fromEntries(Object.entries(byMetric).map(([k, v]) => [k, pad(v, n, null)])),
          ]),
        ),
        unsettled: [...unsettled],
        dropped: pad(dropped, n, 0),
        points,
        early,
      };
    },
  };
  return aggregator;
}

// ---- from the files of a run folder --------------------------------------------------------------------

/** Server scrapes the run appended while it went: one JSON line `{ t, role, metrics }` per program and scrape. */
export const SERVER_SAMPLES_FILE = RUN_FILES.serverSamples;

export interface ServerSampleLine {
  /** Scrape time, ms since the epoch. */
  t: number;
  role: string;
  /** `name{labels}` → value, already filtered by keepServerMetric. */
  metrics: Record<string, number>;
}

export interface AggregateFileOptions {
  /** Default: run.json's loadStartedAt, else the first sample's time. */
  loadStartMs?: number;
  stepS?: number;
}

/**
 * k6's samples in a run folder: `k6-results.json.gz` (posstorm's lines of k6's JSON output, gzipped as the run
 * goes), or `k6-results.json` (k6's whole output, as runs wrote it before).
 */
export const K6_RESULTS_FILES = [K6_RESULTS_FILE, "k6-results.json"] as const;

/** The fleet engine's raw samples in a run folder: one JSON object per line, gzipped (harness/fleet/samples.ts). */
export const SAMPLES_FILE = RUN_FILES.samples;

/** The k6 results file of a run folder, if any. */
export function k6ResultsOf(runDir: string): string | undefined {
  return K6_RESULTS_FILES.map((f) => join(runDir, f)).find((f) => existsSync(f));
}

/**
 * Aggregates a finished (or interrupted) run folder: k6-results.json.gz (or .json) read line by line
 * (streamed; a gzip stream cut short is read up to where it ends), then the server scrapes: `server-metrics.jsonl` when the run kept
 * one, otherwise the final scrape in `collected/<role>.metrics.prom` (one point, at the last k6 sample).
 */
export async function aggregateFile(runDir: string, options: AggregateFileOptions = {}): Promise<RunSeries> {
  const samples = join(runDir, SAMPLES_FILE);
  if (existsSync(samples)) return await aggregateSamplesFile(runDir, samples, options);
  const results = k6ResultsOf(runDir);
  if (!results) {
    throw new Error(`${samples}: no such file (the fleet wrote no samples)`);
  }
  let loadStartMs = options.loadStartMs ?? loadStartOf(runDir);
  let aggregator: Aggregator | undefined =
    loadStartMs === undefined ? undefined : createAggregator({ loadStartMs, stepS: options.stepS });
  let lastMs = loadStartMs ?? 0;
  for await (const line of linesOf(results)) {
    // Cheap filters first: k6's own metrics (tcp_*, iterations, vus …) fill files of the older, whole format;
    // the gauges and pos_schedule_lag are not aggregated.
    if (!line.includes('"pos_')) continue;
    const metric = pointMetric(line);
    if (metric !== undefined && !AGGREGATED_METRICS.has(metric)) continue;
    const point = parsePoint(line);
    if (!point) continue;
    if (point.timeMs > lastMs) lastMs = point.timeMs;
    if (!aggregator) {
      loadStartMs = point.timeMs;
      aggregator = createAggregator({ loadStartMs: point.timeMs, stepS: options.stepS });
    }
    aggregator.add(point);
  }
  aggregator ??= createAggregator({ loadStartMs: Date.now(), stepS: options.stepS });
  addServerFiles(runDir, aggregator, lastMs);
  return aggregator.result();
}

/** The lines of a text file, gunzipped when it ends in .gz (a gzip stream cut short is read up to its end). */
function linesOf(file: string): AsyncIterable<string> {
  const raw = createReadStream(file);
  return createInterface({
    input: (file.endsWith(".gz")
      ? raw.pipe(createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH }))
      : raw
    ).setEncoding("utf8"),
    crlfDelay: Infinity,
  });
}

/** samples.ndjson.gz of a fleet-engine run; `t` counts from run.json's loadStartedAt. */
async function aggregateSamplesFile(
  runDir: string,
  file: string,
  options: AggregateFileOptions,
): Promise<RunSeries> {
  const loadStartMs = options.loadStartMs ?? loadStartOf(runDir);
  if (loadStartMs === undefined) {
    throw new Error(
      `${runFile(runDir, "run")}: no loadStartedAt, which ${RUN_FILES.samples} counts its times from`,
    );
  }
  const aggregator = createAggregator({ loadStartMs, stepS: options.stepS });
  let lastMs = loadStartMs;
  for await (const line of linesOf(file)) {
    if (line === "") continue;
    let sample: Sample;
    try {
      sample = JSON.parse(line) as Sample;
    } catch {
      continue; // a last line cut short by an interrupted run
    }
    aggregator.addSample(sample);
    const end = loadStartMs + sample.t + ("ms" in sample ? sample.ms : 0);
    if (end > lastMs) lastMs = end;
  }
  addServerFiles(runDir, aggregator, lastMs);
  return aggregator.result();
}

function loadStartOf(runDir: string): number | undefined {
  try {
    const run = readRunJson(runDir);
    const ms = run.loadStartedAt ? Date.parse(run.loadStartedAt) : Number.NaN;
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** `finalScrapeMs`: where a final scrape goes (the last k6 sample: it was taken as k6 ended). */
function addServerFiles(runDir: string, aggregator: Aggregator, finalScrapeMs: number): void {
  const samples = join(runDir, SERVER_SAMPLES_FILE);
  if (existsSync(samples)) {
    for (const line of readFileSync(samples, "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        const sample = JSON.parse(line) as ServerSampleLine;
        aggregator.addServerSample(sample.t, sample.role, new Map(Object.entries(sample.metrics)));
      } catch {
        // a line cut short by an interrupted run
      }
    }
    return;
  }
  const collected = join(runDir, COLLECTED_DIR);
  if (!existsSync(collected)) return;
  for (const file of readdirSync(collected)) {
    const match = /^(.+)\.metrics\.prom$/.exec(file);
    if (!match) continue;
    const path = join(collected, file);
    aggregator.addServerSample(finalScrapeMs, match[1]!, parsePrometheus(readFileSync(path, "utf8")));
  }
}
