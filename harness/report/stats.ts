import { percentileMs } from "./histogram.ts";
import { rateCounts, ratio, TIMEOUT_KINDS, type TimeoutKind } from "./indicators.ts";
import type { PhaseWindow } from "./phases.ts";
import { slotsIn } from "./phases.ts";
import { allSlots, latencyOver, operationsOf, type RunSeries, type Slots } from "./series.ts";

// Figures per phase and per operation for the summary tables and `posstorm compare`. Pure, like evaluate().

export interface OpStats {
  /** An operation, or `all`. */
  operation: string;
  attempts: number;
  /** Attempts per second over the span. */
  opsPerS: number;
  timeouts: number;
  /** Fractions of attempts; null without attempts. */
  timeoutRate: number | null;
  timeoutRateByKind: Record<TimeoutKind, number | null>;
  errorRate: number | null;
  successRate: number | null;
  /** Operation duration percentiles, ms; null without operations. */
  latencyMs: { p50: number; p95: number; p99: number; max: number } | null;
}

export interface SpanStats {
  /** A phase name, or `whole run`. */
  name: string;
  kind: PhaseWindow["kind"] | "run";
  /** Seconds since load start. */
  startS: number;
  endS: number;
  all: OpStats;
  byOperation: OpStats[];
}

export function opStats(series: RunSeries, slots: Slots, op: string | undefined, seconds: number): OpStats {
  const timeouts = rateCounts(series, { indicator: "timeout-rate", kind: "all" }, slots, op);
  const byKind = Object.fromEntries(
    TIMEOUT_KINDS.map((kind) => [
      kind,
      ratio(rateCounts(series, { indicator: "timeout-rate", kind }, slots, op)),
    ]),
  ) as Record<TimeoutKind, number | null>;
  const h = latencyOver(series, slots, op);
  return {
    operation: op ?? "all",
    attempts: timeouts.attempts,
    opsPerS: seconds > 0 ? timeouts.attempts / seconds : 0,
    timeouts: timeouts.events,
    timeoutRate: ratio(timeouts),
    timeoutRateByKind: byKind,
    errorRate: ratio(rateCounts(series, { indicator: "error-rate" }, slots, op)),
    successRate: ratio(rateCounts(series, { indicator: "success-rate" }, slots, op)),
    latencyMs:
      h.totalCount === 0
        ? null
        : {
            p50: percentileMs(h, 50)!,
            p95: percentileMs(h, 95)!,
            p99: percentileMs(h, 99)!,
            max: h.maxValue,
          },
  };
}

function spanStats(
  series: RunSeries,
  name: string,
  kind: SpanStats["kind"],
  startS: number,
  endS: number,
  slots: Slots,
  seconds = slots.length * series.stepS,
): SpanStats {
  return {
    name,
    kind,
    startS,
    endS,
    all: opStats(series, slots, undefined, seconds),
    byOperation: operationsOf(series).map((op) => opStats(series, slots, op, seconds)),
  };
}

/**
 * Figures for each phase and for the whole run. Throughput of a phase is per second of the phase; of the whole
 * run, per second of load (`loadS`, the plan's durationS) when given, else per second of data.
 */
export function summarise(
  series: RunSeries,
  phases: readonly PhaseWindow[],
  loadS?: number,
): { phases: SpanStats[]; total: SpanStats } {
  return {
    phases: phases.map((p) =>
      spanStats(
        series,
        p.name,
        p.kind,
        p.startS,
        p.endS,
        slotsIn(p.startS, p.endS, series.slots, series.stepS),
      ),
    ),
    total: spanStats(
      series,
      "whole run",
      "run",
      0,
      Math.max(series.slots * series.stepS, loadS ?? 0),
      allSlots(series),
      loadS && loadS > 0 ? loadS : undefined,
    ),
  };
}
