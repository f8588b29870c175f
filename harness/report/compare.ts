import { existsSync } from "node:fs";
import { readPlanJson, readRunJson } from "../run-folder/index.ts";
import type { CompareSettings } from "../slo/index.ts";
import { ReportError, readRunFile, seriesOf } from "./report.ts";
import { type OpStats, summarise } from "./stats.ts";

// `posstorm compare <base> <current>`: whole-run figures per operation of two runs side by side, and a
// failure when one regressed by more than its allowed percentage.

export const REGRESSION_METRICS = ["timeoutRate", "errorRate", "p50", "p95", "p99", "throughput"] as const;
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];

/**
 * `metric` is a regression metric (`p99`: every operation and `all`) or `<operation>.<metric>`
 * (`purchase.p99`), which wins over the plain one for that operation. `maxRegressionPct` is relative to the
 * base: 10 = fail when 10 % worse (higher rates or latency, lower throughput).
 */
export interface RegressionThreshold {
  metric: string;
  maxRegressionPct: number;
}

export type { CompareSettings };

export interface CompareRow {
  /** An operation or `all`. */
  operation: string;
  metric: RegressionMetric;
  /** Rates as fractions, latency ms, throughput operations/s; null: no data. */
  base: number | null;
  current: number | null;
  /** (current − base) / base × 100; null when either is missing; ±Infinity from a zero base. */
  changePct: number | null;
  /** How much worse, %: positive = worse (higher rate or latency, lower throughput). */
  regressionPct: number | null;
  /** The threshold that applies, if any. */
  maxRegressionPct?: number;
  /** `regressed`: worse than allowed; `ok`: within it (or no threshold); `n/a`: a value is missing. */
  status: "ok" | "regressed" | "n/a";
}

export interface Comparison {
  base: { runId: string; dir: string };
  current: { runId: string; dir: string };
  thresholds: RegressionThreshold[];
  rows: CompareRow[];
  status: "pass" | "fail";
  exitCode: 0 | 1;
}

/**
 * Changes smaller than these are noise, never a regression whatever the percentage (0 → 0.05 % timeouts is an
 * infinite relative change).
 */
export const NOISE_FLOOR: Record<RegressionMetric, number> = {
  timeoutRate: 0.001,
  errorRate: 0.001,
  p50: 1,
  p95: 1,
  p99: 1,
  throughput: 0.1,
};

/** `timeoutRate=10` → { metric: "timeoutRate", maxRegressionPct: 10 }; errors name the argument. */
export function parseThresholds(specs: readonly string[]): RegressionThreshold[] {
  return specs
    .flatMap((s) => s.split(","))
    .filter((s) => s.trim() !== "")
    .map((spec) => {
      const match = /^\s*(?:([a-z]+)\.)?([A-Za-z0-9]+)\s*=\s*([0-9.]+)\s*%?\s*$/.exec(spec);
      if (!match)
        throw new Error(`--max-regression ${spec}: expected <metric>=<percent>, e.g. timeoutRate=10`);
      const [, op, metric, pct] = match;
      if (!(REGRESSION_METRICS as readonly string[]).includes(metric!)) {
        throw new Error(`--max-regression ${spec}: ${metric} is not one of ${REGRESSION_METRICS.join(", ")}`);
      }
      const value = Number(pct);
      if (!Number.isFinite(value)) throw new Error(`--max-regression ${spec}: ${pct} is not a number`);
      return { metric: op ? `${op}.${metric}` : metric!, maxRegressionPct: value };
    });
}

/** Thresholds of a profile's `compare.maxRegressionPct`, checked like the command line's. */
export function thresholdsOf(settings: CompareSettings | undefined): RegressionThreshold[] {
  const entries = Object.entries(settings?.maxRegressionPct ?? {});
  return parseThresholds(entries.map(([metric, pct]) => `${metric}=${pct}`));
}

const figure = (s: OpStats | undefined, metric: RegressionMetric): number | null => {
  if (!s || s.attempts === 0) return null;
  switch (metric) {
    case "timeoutRate":
      return s.timeoutRate;
    case "errorRate":
      return s.errorRate;
    case "p50":
    case "p95":
    case "p99":
      return s.latencyMs?.[metric] ?? null;
    case "throughput":
      return s.opsPerS;
  }
};

/** Pure: the rows for two runs' whole-run figures (one OpStats per operation, `all` included). */
export function compareStats(
  base: readonly OpStats[],
  current: readonly OpStats[],
  thresholds: readonly RegressionThreshold[],
): { rows: CompareRow[]; status: "pass" | "fail" } {
  const operations = [
    "all",
    ...new Set([...base, ...current].map((s) => s.operation).filter((op) => op !== "all")),
  ];
  const rows: CompareRow[] = [];
  for (const operation of operations) {
    const b = base.find((s) => s.operation === operation);
    const c = current.find((s) => s.operation === operation);
    for (const metric of REGRESSION_METRICS) {
      const bv = figure(b, metric);
      const cv = figure(c, metric);
      const limit =
        thresholds.find((t) => t.metric === `${operation}.${metric}`) ??
        thresholds.find((t) => t.metric === metric);
      const row: CompareRow = {
        operation,
        metric,
        base: bv,
        current: cv,
        changePct: null,
        regressionPct: null,
        ...(limit ? { maxRegressionPct: limit.maxRegressionPct } : {}),
        status: "n/a",
      };
      if (bv !== null && cv !== null) {
        row.changePct = bv === 0 ? (cv === 0 ? 0 : cv > 0 ? Infinity : -Infinity) : ((cv - bv) / bv) * 100;
        row.regressionPct = metric === "throughput" ? -row.changePct : row.changePct;
        const noise = Math.abs(cv - bv) <= NOISE_FLOOR[metric];
        row.status = limit && !noise && row.regressionPct > limit.maxRegressionPct ? "regressed" : "ok";
      }
      rows.push(row);
    }
  }
  return { rows, status: rows.some((r) => r.status === "regressed") ? "fail" : "pass" };
}

const runIdOf = (dir: string) => readRunFile(() => readRunJson(dir)).runId;

async function wholeRun(dir: string): Promise<OpStats[]> {
  if (!existsSync(dir)) throw new ReportError(`${dir}: no such run folder`);
  let loadS: number | undefined;
  try {
    loadS = readPlanJson(dir).durationS;
  } catch {
    // throughput per second of data instead
  }
  const { total } = summarise(await seriesOf(dir, { save: false }), [], loadS);
  return [total.all, ...total.byOperation];
}

export async function compareRuns(
  baseDir: string,
  currentDir: string,
  thresholds: readonly RegressionThreshold[],
): Promise<Comparison> {
  const base = { runId: runIdOf(baseDir), dir: baseDir };
  const current = { runId: runIdOf(currentDir), dir: currentDir };
  const { rows, status } = compareStats(await wholeRun(baseDir), await wholeRun(currentDir), thresholds);
  return { base, current, thresholds: [...thresholds], rows, status, exitCode: status === "fail" ? 1 : 0 };
}

/** The `compare` settings of a run's plan (plan.json; run.json for runs of earlier versions), if any. */
export function recordedCompareSettings(runDir: string): CompareSettings | undefined {
  const read = <T>(f: () => T) => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  return read(() => readPlanJson(runDir))?.compare ?? read(() => readRunJson(runDir))?.compare;
}
