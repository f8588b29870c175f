import type { LinkName } from "../chaos/faults.ts";
import type { Operation } from "../fleet/plan.ts";

// SLOs as a profile writes them: the indicators, their scopes and bounds, their names, and their validation.
// The report evaluates them (report/slo.ts); a profile imports these definitions without the evaluation.
// Units: rates are fractions of attempts (0.01 = 1 %), latency is ms, recovery time is seconds, one-sided
// transactions are a count.

export type TimeoutKind = "connect" | "response" | "idle";
export const TIMEOUT_KINDS: readonly TimeoutKind[] = ["connect", "response", "idle"];

/** Percentile names of the latency indicator → percent. */
export const PERCENTILES = { p50: 50, p75: 75, p90: 90, p95: 95, p99: 99, p999: 99.9 } as const;
export type Percentile = keyof typeof PERCENTILES;

/** Which part of the run an SLO looks at. Every field narrows it; none = every operation, the whole run. */
export interface SloScope {
  /** One operation (default: every operation together). */
  operation?: Operation;
  /**
   * A phase from the timeline: `baseline` (before the first fault), `fault:<entry name>`, `recovery` (every
   * stretch with no fault after one) or `all` (default).
   */
  phase?: "all" | "baseline" | "recovery" | `fault:${string}`;
  /** Only while a fault on this link (or on the program behind it: `issuer-a`, `hsm`, `switch`) is in effect. */
  link?: LinkName | "switch";
  /**
   * The worst rolling window of `worstOfS` seconds inside the scope instead of the scope as a whole. Windows
   * with fewer than `minAttempts` attempts (default 1) are not judged. A stretch of the scope shorter than the
   * window counts as one window.
   */
  window?: { worstOfS: number; minAttempts?: number };
}

/** An objective or a warning level: the measured value must stay ≤ max and ≥ min. */
export interface Bound {
  max?: number;
  min?: number;
}

interface SloCommon {
  /** Names the SLO in reports and JUnit (default: built from indicator and scope). */
  id?: string;
  /** One line for people (default: built from indicator, scope and objective). */
  description?: string;
  scope?: SloScope;
  objective: Bound;
  /** A stricter level: beyond it but within the objective is a warning. Warnings never fail a run. */
  warn?: Bound;
}

export type SloIndicator =
  /** timed-out attempts / attempts; one timeout kind or all (default). */
  | { indicator: "timeout-rate"; kind?: TimeoutKind | "all" }
  /** failed attempts that are not timeouts (refused, reset, closed, protocol, MAC, switch error codes) / attempts */
  | { indicator: "error-rate" }
  /** approved / attempts */
  | { indicator: "success-rate" }
  /** a percentile of operation duration (connect included), ms, from merged HDR histograms */
  | { indicator: "latency"; percentile: Percentile }
  /** issuer-approved, never reversed, not approved at the terminal: a count over the whole run (scope ignored) */
  | { indicator: "one-sided" }
  /**
   * Seconds from a fault's clear until the timeout rate over the next `windowS` seconds (default 5) is within
   * `withinRate` (default 0.01); the worst fault in scope (`phase: "fault:<name>"` or `link` pick faults).
   */
  | { indicator: "recovery-time"; kind?: TimeoutKind | "all"; withinRate?: number; windowS?: number };

export type Slo = SloCommon & SloIndicator;

export type Unit = "ratio" | "ms" | "s" | "count";

/** Each indicator's unit. */
export const UNIT: Record<Slo["indicator"], Unit> = {
  "timeout-rate": "ratio",
  "error-rate": "ratio",
  "success-rate": "ratio",
  latency: "ms",
  "one-sided": "count",
  "recovery-time": "s",
};

/** For profiles: `compare: { maxRegressionPct: { timeoutRate: 10, "purchase.p99": 20 } }`. */
export interface CompareSettings {
  maxRegressionPct?: Record<string, number>;
}

const pct = (x: number) => `${+(x * 100).toFixed(3)} %`;

/** `timeout-rate response purchase baseline worst-10s`. */
export function sloId(slo: Slo): string {
  const parts: string[] = [slo.indicator];
  if (
    (slo.indicator === "timeout-rate" || slo.indicator === "recovery-time") &&
    slo.kind &&
    slo.kind !== "all"
  )
    parts.push(slo.kind);
  if (slo.indicator === "latency") parts.push(slo.percentile);
  const scope = slo.scope ?? {};
  if (slo.indicator !== "one-sided") {
    if (scope.operation) parts.push(scope.operation);
    if (scope.phase && scope.phase !== "all") parts.push(scope.phase);
    if (scope.link) parts.push(`on-${scope.link}`);
    if (scope.window && slo.indicator !== "recovery-time") parts.push(`worst-${scope.window.worstOfS}s`);
  }
  return parts.join(" ");
}

const INDICATOR_NAME: Record<Slo["indicator"], string> = {
  "timeout-rate": "timeout rate",
  "error-rate": "error rate",
  "success-rate": "success rate",
  latency: "latency",
  "one-sided": "one-sided transactions",
  "recovery-time": "recovery time",
};

/** `purchase response timeout rate, fault:edge-latency, worst 10 s window`. */
export function describeSlo(slo: Slo): string {
  const scope = slo.scope ?? {};
  let what = INDICATOR_NAME[slo.indicator];
  if (slo.indicator === "timeout-rate" && slo.kind && slo.kind !== "all") what = `${slo.kind} ${what}`;
  if (slo.indicator === "latency") what = `${slo.percentile} ${what}`;
  if (slo.indicator === "recovery-time") {
    what = `${what} (${slo.kind && slo.kind !== "all" ? `${slo.kind} ` : ""}timeout rate ≤ ${pct(slo.withinRate ?? 0.01)} over ${slo.windowS ?? 5} s)`;
  }
  if (slo.indicator === "one-sided") return `${what}, whole run`;
  const parts = [`${scope.operation ?? "all operations"} ${what}`];
  if (slo.indicator === "recovery-time") {
    if (scope.phase?.startsWith("fault:")) parts.push(`after ${scope.phase}`);
    else parts.push("worst fault");
  } else parts.push(scope.phase && scope.phase !== "all" ? scope.phase : "whole run");
  if (scope.link) parts.push(`while ${scope.link} is faulted`);
  if (scope.window && slo.indicator !== "recovery-time")
    parts.push(`worst ${scope.window.worstOfS} s window`);
  return parts.join(", ");
}

const INDICATORS = Object.keys(UNIT);

/** Problems with SLOs written in JavaScript or built at run time, each with its path: `slos[2].objective: …`. */
export function validateSlos(slos: unknown, path = "slos"): string[] {
  if (slos === undefined) return [];
  if (!Array.isArray(slos)) return [`${path}: must be an array`];
  const problems: string[] = [];
  slos.forEach((raw: unknown, i) => {
    const at = `${path}[${i}]`;
    if (typeof raw !== "object" || raw === null) {
      problems.push(`${at}: must be an object`);
      return;
    }
    const slo = raw as Record<string, unknown>;
    if (!INDICATORS.includes(slo.indicator as string)) {
      problems.push(
        `${at}.indicator: ${JSON.stringify(slo.indicator)} must be one of ${INDICATORS.join(", ")}`,
      );
    }
    if (slo.indicator === "latency" && !(String(slo.percentile) in PERCENTILES)) {
      problems.push(
        `${at}.percentile: ${JSON.stringify(slo.percentile)} must be one of ${Object.keys(PERCENTILES).join(", ")}`,
      );
    }
    if (slo.kind !== undefined && !["connect", "response", "idle", "all"].includes(slo.kind as string)) {
      problems.push(`${at}.kind: ${JSON.stringify(slo.kind)} must be connect, response, idle or all`);
    }
    problems.push(...boundProblems(slo.objective, `${at}.objective`, true));
    if (slo.warn !== undefined) problems.push(...boundProblems(slo.warn, `${at}.warn`, false));
    const scope = (slo.scope ?? {}) as Record<string, unknown>;
    const phase = scope.phase;
    if (
      phase !== undefined &&
      !(
        typeof phase === "string" &&
        (["all", "baseline", "recovery"].includes(phase) || /^fault:.+/.test(phase))
      )
    ) {
      problems.push(
        `${at}.scope.phase: ${JSON.stringify(phase)} must be all, baseline, recovery or fault:<name>`,
      );
    }
    const window = scope.window as Record<string, unknown> | undefined;
    if (window !== undefined && !(typeof window.worstOfS === "number" && window.worstOfS > 0)) {
      problems.push(`${at}.scope.window.worstOfS: ${JSON.stringify(window.worstOfS)} must be a number > 0`);
    }
    for (const key of ["withinRate", "windowS"] as const) {
      if (slo[key] !== undefined && !(typeof slo[key] === "number" && (slo[key] as number) > 0)) {
        problems.push(`${at}.${key}: ${JSON.stringify(slo[key])} must be a number > 0`);
      }
    }
  });
  return problems;
}

function boundProblems(bound: unknown, at: string, required: boolean): string[] {
  if (typeof bound !== "object" || bound === null) return required ? [`${at}: needs max and/or min`] : [];
  const b = bound as Record<string, unknown>;
  const problems: string[] = [];
  if (b.max === undefined && b.min === undefined) problems.push(`${at}: needs max and/or min`);
  for (const k of ["max", "min"]) {
    if (b[k] !== undefined && !(typeof b[k] === "number" && Number.isFinite(b[k]))) {
      problems.push(`${at}.${k}: ${JSON.stringify(b[k])} is not a number`);
    }
  }
  return problems;
}
