import { evaluate, type RunSeries, type Slo } from "../report/index.ts";
import { slotsIn } from "../report/phases.ts";
import { sumOver } from "../report/series.ts";

// One operation's figures in a run, for the commands that run many (capacity steps, timeout cells): read from
// the run's series with the report's own evaluator, so they are the figures its report shows.

export interface OperationFigures {
  /** Operations of the kind that ended in the judged window, per second of it (the drain after it aside). */
  throughput: number | null;
  /** Operations judged: those that ended from the warm-up's end on, drain included. */
  attempts: number;
  p50Ms: number | null;
  p99Ms: number | null;
  timeoutRate: number | null;
  successRate: number | null;
}

/** An operation's figures over a run's judged window (warmupS on, steadyS long), from merged histograms and counts. */
export function operationFigures(
  series: RunSeries,
  operation: "signin" | "purchase",
  window: { warmupS: number; steadyS: number },
): OperationFigures {
  const scope = { operation };
  const probes: Slo[] = [
    { indicator: "latency", percentile: "p50", scope, objective: {} },
    { indicator: "latency", percentile: "p99", scope, objective: {} },
    { indicator: "timeout-rate", scope, objective: {} },
    { indicator: "success-rate", scope, objective: {} },
  ];
  const [p50, p99, timeouts, success] = evaluate(probes, series, [], undefined, {
    judgeFromS: window.warmupS,
  }).slos;
  const attempts = timeouts?.counts?.attempts ?? 0;
  // Operations that ended inside the judged window (not the drain after it), per second.
  const judged = slotsIn(window.warmupS, window.warmupS + window.steadyS, series.slots, series.stepS);
  let ended = 0;
  for (const perSlot of Object.values(series.ops[operation] ?? {})) ended += sumOver(perSlot, judged);
  return {
    throughput: attempts > 0 ? ended / window.steadyS : null,
    attempts,
    p50Ms: p50?.measured ?? null,
    p99Ms: p99?.measured ?? null,
    timeoutRate: timeouts?.measured ?? null,
    successRate: success?.measured ?? null,
  };
}

/** The figures of a run that did not complete: nothing judged. */
export const NO_FIGURES: OperationFigures = {
  throughput: null,
  attempts: 0,
  p50Ms: null,
  p99Ms: null,
  timeoutRate: null,
  successRate: null,
};
