import {
  type Bound,
  describeSlo,
  PERCENTILES,
  type Slo,
  type SloScope,
  sloId,
  UNIT,
  type Unit,
} from "../slo/index.ts";
import type { Histogram } from "./histogram.ts";
import { newHistogram, percentileMs } from "./histogram.ts";
import { type RateCounts, type RateDefinition, rateCounts, rateSeries } from "./indicators.ts";
import { contiguousRuns, intersect, type PhaseWindow, slotsOfWindows } from "./phases.ts";
import type { Reconciliation } from "./reconcile.ts";
import { allSlots, latencyOver, type RunSeries, type Slots } from "./series.ts";

// The pure evaluation of a run against its SLOs (what a profile promises: harness/slo). Units: rates are
// fractions of attempts (0.01 = 1 %), latency is ms, recovery time is seconds, one-sided transactions are a count.

export type { Bound, Percentile, Slo, SloScope, TimeoutKind, Unit } from "../slo/index.ts";

const pct = (x: number) => `${+(x * 100).toFixed(3)} %`;

export { describeSlo, sloId, validateSlos } from "../slo/index.ts";

export type SloStatus = "pass" | "warn" | "fail" | "no-data";

export interface FaultRecovery {
  fault: string;
  clearedAtS: number;
  /** null: not back within the rate before the data ended. */
  recoveryS: number | null;
  /** Seconds of data after the clear. */
  observedS: number;
}

export interface SloResult {
  id: string;
  description: string;
  indicator: Slo["indicator"];
  unit: Unit;
  /** null: no data (see detail). */
  measured: number | null;
  objective: Bound;
  warn?: Bound;
  /** Distance to the objective in the unit: ≥ 0 met, < 0 breached; null without a measurement. */
  margin: number | null;
  status: SloStatus;
  /** How it was measured, one line: counts, the worst window, the faults … */
  detail: string;
  /** Rates: events and attempts behind the measured value. */
  counts?: RateCounts;
  /** Worst-window SLOs: the window, seconds since load start. */
  window?: { startS: number; endS: number };
  recoveries?: FaultRecovery[];
}

export interface Verdict {
  /** fail when any SLO failed; warn when any warned or had no data; pass otherwise (also with no SLOs). */
  status: "pass" | "warn" | "fail";
  /** 0 every SLO met (warnings and no-data included), 1 an SLO breached. */
  exitCode: 0 | 1;
  counts: Record<SloStatus, number>;
  slos: SloResult[];
}

// ---- evaluation ---------------------------------------------------------------------------------------

/**
 * Judges a run against its SLOs. Pure: the series, phases and reconciliation are read, never changed.
 * `reconciliation` is only needed by one-sided SLOs.
 */
export function evaluate(
  slos: readonly Slo[],
  series: RunSeries,
  phases: readonly PhaseWindow[],
  reconciliation?: Reconciliation,
  options: EvaluateOptions = {},
): Verdict {
  const ids = new Map<string, number>();
  const results = slos.map((slo) => {
    const result = evaluateOne(slo, series, phases, reconciliation, options.judgeFromS ?? 0);
    const n = (ids.get(result.id) ?? 0) + 1;
    ids.set(result.id, n);
    return n === 1 ? result : { ...result, id: `${result.id} #${n}` };
  });
  const counts: Record<SloStatus, number> = { pass: 0, warn: 0, fail: 0, "no-data": 0 };
  for (const r of results) counts[r.status]++;
  const status = counts.fail > 0 ? "fail" : counts.warn + counts["no-data"] > 0 ? "warn" : "pass";
  return { status, exitCode: status === "fail" ? 1 : 0, counts, slos: results };
}

export interface EvaluateOptions {
  /** Seconds of load not judged at the start (a capacity step's warm-up): slots before it are left out. */
  judgeFromS?: number;
}

function evaluateOne(
  slo: Slo,
  series: RunSeries,
  phases: readonly PhaseWindow[],
  reconciliation: Reconciliation | undefined,
  judgeFromS: number,
): SloResult {
  const head = {
    id: slo.id ?? sloId(slo),
    description: slo.description ?? describeSlo(slo),
    indicator: slo.indicator,
    unit: UNIT[slo.indicator],
    objective: slo.objective,
    ...(slo.warn ? { warn: slo.warn } : {}),
  };
  const noData = (detail: string): SloResult => ({
    ...head,
    measured: null,
    margin: null,
    status: "no-data",
    detail,
  });
  const judged = (measured: number, detail: string, extra: Partial<SloResult> = {}): SloResult => ({
    ...head,
    ...judge(measured, slo.objective, slo.warn),
    detail,
    ...extra,
  });

  if (slo.indicator === "one-sided") {
    if (!reconciliation) return noData("no reconciliation");
    if (reconciliation.oneSided === null) return noData(reconciliation.note ?? "a side is missing");
    return judged(
      reconciliation.oneSided,
      `${reconciliation.oneSided} one-sided of ${reconciliation.unsettled} purchase(s) not approved at the terminal`,
    );
  }
  if (slo.indicator === "recovery-time") return recoveryTime(slo, series, phases, head, noData);

  const scope = slo.scope ?? {};
  const selected = selectSlots(scope, series, phases, judgeFromS);
  if ("problem" in selected) return noData(selected.problem);
  const slots = selected.slots;
  const op = scope.operation;

  if (slo.indicator === "latency") {
    const pct = PERCENTILES[slo.percentile];
    if (scope.window) {
      const worst = worstLatencyWindow(series, slots, op, pct, scope.window, slo.objective);
      if (!worst) return noData(`no window with ${scope.window.minAttempts ?? 1}+ operations`);
      return judged(
        worst.value,
        `worst ${scope.window.worstOfS} s window ${span(worst.startS, worst.endS)}: ${slo.percentile} of ${worst.count} operation(s)`,
        { window: { startS: worst.startS, endS: worst.endS } },
      );
    }
    const h = latencyOver(series, slots, op);
    const value = percentileMs(h, pct);
    if (value === null) return noData("no operations in scope");
    return judged(value, `${slo.percentile} of ${h.totalCount} operation(s)`);
  }

  const def: RateDefinition =
    slo.indicator === "timeout-rate"
      ? { indicator: "timeout-rate", kind: slo.kind ?? "all" }
      : { indicator: slo.indicator };
  if (scope.window) {
    const worst = worstRateWindow(series, def, slots, op, scope.window, slo.objective);
    if (!worst) return noData(`no window with ${scope.window.minAttempts ?? 1}+ attempts`);
    return judged(
      worst.value,
      `worst ${scope.window.worstOfS} s window ${span(worst.startS, worst.endS)}: ${worst.events} of ${worst.attempts} attempts`,
      {
        counts: { events: worst.events, attempts: worst.attempts },
        window: { startS: worst.startS, endS: worst.endS },
      },
    );
  }
  const counts = rateCounts(series, def, slots, op);
  if (counts.attempts === 0) return noData("no attempts in scope");
  return judged(counts.events / counts.attempts, `${counts.events} of ${counts.attempts} attempts`, {
    counts,
  });
}

function judge(
  measured: number,
  objective: Bound,
  warn: Bound | undefined,
): Pick<SloResult, "measured" | "margin" | "status"> {
  const margin = marginTo(measured, objective);
  const warnMargin = warn ? marginTo(measured, warn) : 0;
  const status = margin < 0 ? "fail" : warnMargin < 0 ? "warn" : "pass";
  return { measured, margin, status };
}

/** Smallest distance to a bound: positive inside, negative outside. */
export function marginTo(measured: number, bound: Bound): number {
  let margin = Number.POSITIVE_INFINITY;
  if (bound.max !== undefined) margin = Math.min(margin, bound.max - measured);
  if (bound.min !== undefined) margin = Math.min(margin, measured - bound.min);
  return margin === Number.POSITIVE_INFINITY ? 0 : margin;
}

/** Higher is worse unless the objective only has a minimum (success rate). */
const higherIsWorse = (objective: Bound) => objective.max !== undefined || objective.min === undefined;

// ---- scope → slots -------------------------------------------------------------------------------------

type Selection = { slots: number[] } | { problem: string };

export function selectSlots(
  scope: SloScope,
  series: RunSeries,
  phases: readonly PhaseWindow[],
  judgeFromS = 0,
): Selection {
  let slots: number[] = allSlots(series).filter((s) => (s + 0.5) * series.stepS >= judgeFromS);
  const phase = scope.phase ?? "all";
  if (phase !== "all") {
    const chosen = phases.filter((p) =>
      phase === "baseline" || phase === "recovery" ? p.kind === phase : p.name === phase,
    );
    if (chosen.length === 0) {
      return {
        problem: `no ${phase} phase in this run (phases: ${phases.map((p) => p.name).join(", ") || "none"})`,
      };
    }
    slots = slotsOfWindows(chosen, series.slots, series.stepS);
  }
  if (scope.link !== undefined) {
    const faults = phases.filter((p) => p.kind === "fault" && p.target === scope.link);
    if (faults.length === 0) return { problem: `no fault on ${scope.link} in this run` };
    slots = intersect(slots, slotsOfWindows(faults, series.slots, series.stepS));
  }
  if (slots.length === 0) return { problem: "the scope covers no second of data" };
  return { slots };
}

// ---- worst windows -------------------------------------------------------------------------------------

const windowSlots = (worstOfS: number, stepS: number) => Math.max(1, Math.round(worstOfS / stepS));

function worstRateWindow(
  series: RunSeries,
  def: RateDefinition,
  slots: Slots,
  op: string | undefined,
  window: NonNullable<SloScope["window"]>,
  objective: Bound,
) {
  const { events, attempts } = rateSeries(series, def, op);
  const minAttempts = window.minAttempts ?? 1;
  const worse = higherIsWorse(objective);
  let best: { value: number; events: number; attempts: number; startS: number; endS: number } | undefined;
  for (const run of contiguousRuns(slots)) {
    // Sliding sums along each run of consecutive slots.
    const length = Math.min(windowSlots(window.worstOfS, series.stepS), run.length);
    let e = 0;
    let a = 0;
    for (let i = 0; i < run.length; i++) {
      e += events[run[i]!]!;
      a += attempts[run[i]!]!;
      if (i >= length) {
        e -= events[run[i - length]!]!;
        a -= attempts[run[i - length]!]!;
      }
      if (i < length - 1 || a < minAttempts || a === 0) continue;
      const value = e / a;
      if (!best || (worse ? value > best.value : value < best.value)) {
        best = {
          value,
          events: e,
          attempts: a,
          startS: run[i - length + 1]! * series.stepS,
          endS: (run[i]! + 1) * series.stepS,
        };
      }
    }
  }
  return best;
}

function worstLatencyWindow(
  series: RunSeries,
  slots: Slots,
  op: string | undefined,
  percentile: number,
  window: NonNullable<SloScope["window"]>,
  objective: Bound,
) {
  const minAttempts = window.minAttempts ?? 1;
  const worse = higherIsWorse(objective);
  const slotHistograms = (s: number) =>
    Object.entries(series.latency)
      .filter(([o]) => op === undefined || o === op)
      .map(([, perSlot]) => perSlot[s])
      .filter((h): h is Histogram => h !== null && h !== undefined && h.totalCount > 0);
  let best: { value: number; count: number; startS: number; endS: number } | undefined;
  for (const run of contiguousRuns(slots)) {
    // One histogram slides along each run of consecutive slots: add the slot entering, subtract the one leaving.
    const length = Math.min(windowSlots(window.worstOfS, series.stepS), run.length);
    const h = newHistogram();
    for (let i = 0; i < run.length; i++) {
      for (const part of slotHistograms(run[i]!)) h.add(part);
      if (i >= length) for (const part of slotHistograms(run[i - length]!)) h.subtract(part);
      if (i < length - 1 || h.totalCount === 0 || h.totalCount < minAttempts) continue;
      const value = percentileMs(h, percentile)!;
      if (!best || (worse ? value > best.value : value < best.value)) {
        best = {
          value,
          count: h.totalCount,
          startS: run[i - length + 1]! * series.stepS,
          endS: (run[i]! + 1) * series.stepS,
        };
      }
    }
  }
  return best;
}

// ---- recovery time -------------------------------------------------------------------------------------

function recoveryTime(
  slo: Extract<Slo, { indicator: "recovery-time" }>,
  series: RunSeries,
  phases: readonly PhaseWindow[],
  head: Omit<SloResult, "measured" | "margin" | "status" | "detail">,
  noData: (detail: string) => SloResult,
): SloResult {
  const scope = slo.scope ?? {};
  const phase = scope.phase;
  const faults = phases.filter(
    (p) =>
      p.kind === "fault" &&
      (phase === undefined || phase === "all" || !phase.startsWith("fault:") || p.name === phase) &&
      (scope.link === undefined || p.target === scope.link),
  );
  if (faults.length === 0) return noData("no fault in scope");
  const withinRate = slo.withinRate ?? 0.01;
  const windowS = slo.windowS ?? 5;
  const endOfDataS = series.slots * series.stepS;
  const { events, attempts } = rateSeries(
    series,
    { indicator: "timeout-rate", kind: slo.kind ?? "all" },
    scope.operation,
  );
  const length = windowSlots(windowS, series.stepS);
  const recoveries: FaultRecovery[] = [];
  const silent: string[] = [];
  for (const f of faults) {
    const clearedAtS = f.clearedAtS ?? f.endS;
    if (clearedAtS >= endOfDataS) continue; // cleared as the data ended: nothing to observe
    const first = Math.floor(clearedAtS / series.stepS);
    if (attempts.slice(first).every((a) => a === 0)) {
      silent.push(f.fault ?? f.name);
      continue;
    }
    let recoveryS: number | null = null;
    for (let s = first; s < series.slots; s++) {
      let e = 0;
      let a = 0;
      for (let i = s; i < Math.min(s + length, series.slots); i++) {
        e += events[i]!;
        a += attempts[i]!;
      }
      if (a > 0 && e / a <= withinRate) {
        recoveryS = Math.max(0, s * series.stepS - clearedAtS);
        break;
      }
    }
    recoveries.push({
      fault: f.fault ?? f.name,
      clearedAtS,
      recoveryS: recoveryS === null ? null : round3(recoveryS),
      observedS: round3(endOfDataS - clearedAtS),
    });
  }
  const silentNote = silent.length > 0 ? `no operations after the clear of ${silent.join(", ")}` : "";
  if (recoveries.length === 0) {
    return noData(silentNote || "the data ended before any fault in scope was cleared");
  }
  const describe = (r: FaultRecovery) =>
    r.recoveryS === null
      ? `${r.fault}: not back within ${pct(withinRate)} in the ${r.observedS} s after its clear`
      : `${r.fault}: ${r.recoveryS} s`;
  const detail =
    `${recoveries.map(describe).join("; ")} (timeout rate over ${windowS} s ≤ ${pct(withinRate)})` +
    (silentNote ? `; ${silentNote}` : "");
  const stuck = recoveries.filter((r) => r.recoveryS === null);
  if (stuck.length > 0) {
    // Not recovered: the time is at least the observed time after the clear.
    const atLeast = Math.max(...stuck.map((r) => r.observedS));
    if (slo.objective.max !== undefined && atLeast <= slo.objective.max) {
      return { ...noData(`${detail}; the data ended before the objective elapsed`), recoveries };
    }
    return { ...head, ...judge(atLeast, slo.objective, slo.warn), detail, recoveries };
  }
  const worst = Math.max(...recoveries.map((r) => r.recoveryS!));
  return { ...head, ...judge(worst, slo.objective, slo.warn), detail, recoveries };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const span = (a: number, b: number) => `${a}–${b} s`;
