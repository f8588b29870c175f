import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUN_FILES } from "../run-folder/index.ts";
import { decodeHistogram, encodeHistogram, type Histogram, mergeHistograms } from "./histogram.ts";

// The compact record of a run: what the fleet and the lab programs reported, per slot (one second by default) since
// load start. Everything the verdict and the report need comes from here; nothing is sampled away (every
// operation is counted and its duration is in a histogram). Written to `<run dir>/series.json`.

export const SERIES_VERSION = 1;
export const SERIES_FILE = RUN_FILES.series;

/** Per-slot counts by a first key (the operation) and a second key (outcome, timeout kind, F39 …). */
export type CountTable = Record<string, Record<string, number[]>>;

/**
 * A purchase the terminal sent and did not see approved (a timeout, a lost connection, a bad reply): it owes a
 * reversal. From the fleet's `unsettled` samples {tid, stan, batch, reason} (one sample per such purchase).
 */
export interface UnsettledPurchase {
  /** F41. */
  tid: string;
  /** F11 of the purchase. */
  stan: string;
  /** F60.2; absent when the metric does not carry it (matching then ignores the batch). */
  batch?: string;
  /** Reversal reason (F39 of the 0400) or outcome, as the terminal tagged it. */
  reason?: string;
  /** Sample time, ms since the epoch. */
  timeMs: number;
}

export interface RunSeries {
  version: typeof SERIES_VERSION;
  /** Load start, ms since the epoch. Slot i covers [i·stepS, (i+1)·stepS) seconds after it. */
  loadStartMs: number;
  /** Slot length, seconds (1). */
  stepS: number;
  /** Number of slots: every per-slot array below has this length. */
  slots: number;
  /** `pos_ops`: operation → outcome (approved, declined, timeout.response …) → operations per slot. */
  ops: CountTable;
  /** `pos_timeouts`: operation → kind (connect, response, idle) → timeouts per slot. */
  timeouts: CountTable;
  /** `pos_ops` `code` tag: operation → F39 of the reply → replies per slot. */
  codes: CountTable;
  /** `pos_retries`: operation → retries per slot. */
  retries: Record<string, number[]>;
  /** `pos_skipped`: operation → operations not attempted per slot. */
  skipped: Record<string, number[]>;
  /** `pos_reversal_events`: event (queued, settled, abandoned) → events per slot. */
  reversals: Record<string, number[]>;
  /** Terminals signed in at the end of each slot (Σ pos_session_changes signed-in − signed-out). */
  signedIn: number[];
  /** `pos_op_duration`: operation → per-slot histogram of durations in ms (null: no operation ended). */
  latency: Record<string, (Histogram | null)[]>;
  /**
   * Server-side series from the lab programs' /metrics: role (switch, hsm, issuer-a …) → metric (a Prometheus
   * `name{labels}` key) → last value scraped in the slot (null: no scrape). Counters (`…_total`) keep their
   * running value.
   */
  server: Record<string, Record<string, (number | null)[]>>;
  /** Every `pos_unsettled` sample (low volume: one per purchase owing a reversal). */
  unsettled: UnsettledPurchase[];
  /** Open-model arrivals dropped for want of a free terminal, per slot (fleet engine runs; absent before). */
  dropped?: number[];
  /** posstorm samples (pos_*) aggregated. */
  points: number;
  /** Samples timed before load start, counted in slot 0. */
  early: number;
}

/** series.json: the same shape, histograms as HdrHistogram compressed base64. */
export interface SeriesJson extends Omit<RunSeries, "latency"> {
  latency: Record<string, (string | null)[]>;
}

export function seriesToJSON(series: RunSeries): SeriesJson {
  const latency: SeriesJson["latency"] = {};
  for (const [op, slots] of Object.entries(series.latency)) {
    latency[op] = slots.map((h) => (h && h.totalCount > 0 ? encodeHistogram(h) : null));
  }
  return { ...series, latency };
}

export function seriesFromJSON(json: SeriesJson): RunSeries {
  if (json.version !== SERIES_VERSION) {
    throw new Error(`series version ${String(json.version)} is not ${SERIES_VERSION}`);
  }
  const latency: RunSeries["latency"] = {};
  for (const [op, slots] of Object.entries(json.latency)) {
    latency[op] = slots.map((b) => (b ? decodeHistogram(b) : null));
  }
  return { ...json, latency };
}

export function writeSeries(runDir: string, series: RunSeries): string {
  const file = join(runDir, SERIES_FILE);
  writeFileSync(file, `${JSON.stringify(seriesToJSON(series))}\n`);
  return file;
}

export function readSeries(runDir: string): RunSeries {
  return seriesFromJSON(JSON.parse(readFileSync(join(runDir, SERIES_FILE), "utf8")) as SeriesJson);
}

// ---- reading a series over a set of slots ---------------------------------------------------------------

/** Slot indices, ascending. */
export type Slots = readonly number[];

export const allSlots = (series: Pick<RunSeries, "slots">): number[] =>
  Array.from({ length: series.slots }, (_, i) => i);

export function sumOver(values: readonly number[] | undefined, slots: Slots): number {
  if (!values) return 0;
  let sum = 0;
  for (const s of slots) sum += values[s] ?? 0;
  return sum;
}

/** Σ of `table[op][key]` over the slots, for one operation or all (op undefined), keys filtered. */
export function countOver(
  table: CountTable,
  slots: Slots,
  op: string | undefined,
  key: (k: string) => boolean = () => true,
): number {
  let sum = 0;
  for (const [o, byKey] of Object.entries(table)) {
    if (op !== undefined && o !== op) continue;
    for (const [k, values] of Object.entries(byKey)) if (key(k)) sum += sumOver(values, slots);
  }
  return sum;
}

/** Per-slot Σ of `table[op][key]` (all operations when op is undefined). */
export function perSlot(
  series: Pick<RunSeries, "slots">,
  table: CountTable,
  op: string | undefined,
  key: (k: string) => boolean = () => true,
): number[] {
  const out = new Array<number>(series.slots).fill(0);
  for (const [o, byKey] of Object.entries(table)) {
    if (op !== undefined && o !== op) continue;
    for (const [k, values] of Object.entries(byKey)) {
      if (!key(k)) continue;
      for (let i = 0; i < series.slots; i++) out[i]! += values[i] ?? 0;
    }
  }
  return out;
}

/** The merged latency histogram of one operation (or all) over the slots. */
export function latencyOver(series: Pick<RunSeries, "latency">, slots: Slots, op?: string): Histogram {
  const parts: (Histogram | null | undefined)[] = [];
  for (const [o, perSlotHistograms] of Object.entries(series.latency)) {
    if (op !== undefined && o !== op) continue;
    for (const s of slots) parts.push(perSlotHistograms[s]);
  }
  return mergeHistograms(parts);
}

/** Operations that have at least one count, in the plan's order first. */
export function operationsOf(series: Pick<RunSeries, "ops">): string[] {
  const order = ["signin", "purchase", "reversal", "echo"];
  const present = Object.entries(series.ops)
    .filter(([, byOutcome]) => Object.values(byOutcome).some((v) => v.some((n) => n > 0)))
    .map(([op]) => op);
  return present.sort((a, b) => rank(order, a) - rank(order, b) || a.localeCompare(b));
}

const rank = (order: string[], x: string) => {
  const i = order.indexOf(x);
  return i < 0 ? order.length : i;
};
