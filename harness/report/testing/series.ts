import { createAggregator } from "../aggregate.ts";
import type { PhaseWindow } from "../phases.ts";
import type { Point } from "../points.ts";
import type { RunSeries } from "../series.ts";

// Hand-made series for tests: describe each second's operations, get the RunSeries the aggregator makes.

export const LOAD_START_MS = Date.UTC(2026, 0, 1, 12, 0, 0);

export interface SecondSpec {
  /** outcome → count, for `op` (default purchase). */
  [outcome: string]: number;
}

export interface OpSpec {
  op?: string;
  outcome: string;
  count: number;
  /** Duration of each, ms (default 20). */
  ms?: number;
  code?: string;
}

/** k6-like points for `count` operations ending inside second `s` (spread over it). */
export function opPoints(s: number, spec: OpSpec): Point[] {
  const op = spec.op ?? "purchase";
  const points: Point[] = [];
  for (let i = 0; i < spec.count; i++) {
    const timeMs = LOAD_START_MS + s * 1000 + Math.floor(((i + 0.5) * 1000) / Math.max(spec.count, 1));
    const code = spec.code ?? (spec.outcome === "approved" ? "00" : undefined);
    points.push({
      metric: "pos_ops",
      timeMs,
      value: 1,
      tags: { op, outcome: spec.outcome, ...(code !== undefined ? { code } : {}) },
    });
    points.push({
      metric: "pos_op_duration",
      timeMs,
      value: spec.ms ?? 20,
      tags: { op, outcome: spec.outcome },
    });
    if (spec.outcome.startsWith("timeout.")) {
      points.push({ metric: "pos_timeouts", timeMs, value: 1, tags: { op, kind: spec.outcome.slice(8) } });
    }
  }
  return points;
}

/**
 * A series from per-second specs: `seconds[i]` lists what ended in second i, e.g.
 * `[{ outcome: "approved", count: 10 }, { outcome: "timeout.response", count: 1 }]`.
 */
export function seriesOf(seconds: OpSpec[][], extra: Point[] = []): RunSeries {
  const aggregator = createAggregator({ loadStartMs: LOAD_START_MS });
  seconds.forEach((specs, s) => {
    for (const spec of specs) for (const p of opPoints(s, spec)) aggregator.add(p);
  });
  for (const p of extra) aggregator.add(p);
  return aggregator.result();
}

/** n seconds of `ok` approved purchases and `timeouts` response timeouts each. */
export const steady = (n: number, ok: number, timeouts = 0, ms = 20): OpSpec[][] =>
  Array.from({ length: n }, () => [
    { outcome: "approved", count: ok, ms },
    ...(timeouts > 0 ? [{ outcome: "timeout.response", count: timeouts, ms: 5000 }] : []),
  ]);

/** baseline [0, faultStart), fault:name [faultStart, faultEnd) on `target`, recovery [faultEnd, end). */
export function phasesWithFault(
  faultStart: number,
  faultEnd: number,
  end: number,
  name = "edge-latency",
  target = "edge",
): PhaseWindow[] {
  return [
    { name: "baseline", kind: "baseline", startS: 0, endS: faultStart },
    {
      name: `fault:${name}`,
      kind: "fault",
      startS: faultStart,
      endS: faultEnd,
      fault: name,
      target,
      clearedAtS: faultEnd,
    },
    { name: "recovery", kind: "recovery", startS: faultEnd, endS: end, fault: name },
  ];
}
