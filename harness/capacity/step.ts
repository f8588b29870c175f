import { phasesOf } from "../chaos/index.ts";
import type { CompiledRun } from "../profile/compile.ts";
import type { Slo } from "../report/index.ts";

// One capacity step as a compiled run of its own: the profile's lab, terminals and SLOs, an open-model load of
// the profile's operation at one rate (warm-up then steady window, one stage), faults left out. The warm-up is
// not judged (plan.json `judgeFromS`). Each step is a whole `posstorm run` with its own lab, so the lab's state
// (sessions, queues, ledgers, the switch's caches) is fresh at every step: starting the lab costs about 2 s.

export type CapacityOperation = "signin" | "purchase";

export interface StepWindow {
  /** Seconds at the step's start not judged (queues fill, terminals sign in the first time). */
  warmupS: number;
  /** Seconds judged. */
  steadyS: number;
}

/** TIDs are the prefix and a number filling 8 characters: `POS` leaves 5 digits. */
const tidCapacity = (prefix: string) => 10 ** (8 - prefix.length) - 1;

/** SLOs a step can judge: those about faults (a phase or link of a fault, recovery time) need a timeline. */
export function stepSlos(slos: readonly Slo[]): { kept: Slo[]; dropped: Slo[] } {
  const needsFault = (slo: Slo) =>
    slo.indicator === "recovery-time" ||
    slo.scope?.link !== undefined ||
    (slo.scope?.phase !== undefined && slo.scope.phase !== "all" && slo.scope.phase !== "baseline");
  return { kept: slos.filter((s) => !needsFault(s)), dropped: slos.filter(needsFault) };
}

/**
 * The terminals a step needs so that no arrival finds every terminal busy while the switch answers within the
 * terminal's timeouts: rate × (connect + response timeout) with 10 % to spare. Fewer would drop arrivals
 * because the pool was small, and the step would be inconclusive for the wrong reason.
 */
export function terminalsFor(rate: number, compiled: Pick<CompiledRun, "terminal">): number {
  const busyS = (compiled.terminal.connectTimeoutMs + compiled.terminal.responseTimeoutMs) / 1000;
  return Math.min(tidCapacity(compiled.terminal.tidPrefix), Math.ceil(rate * busyS * 1.1) + 10);
}

export function stepRun(
  compiled: CompiledRun,
  operation: CapacityOperation,
  rate: number,
  window: StepWindow,
  /** A cap on the terminals (and so on operations in progress); arrivals beyond it are dropped. */
  maxTerminals?: number,
): CompiledRun {
  const durationS = window.warmupS + window.steadyS;
  const needed = Math.max(compiled.terminals, terminalsFor(rate, compiled));
  const terminals = maxTerminals !== undefined ? Math.min(maxTerminals, needed) : needed;
  // The whole-run network preset stays (a condition of the access network), stretched over the step.
  const timeline = compiled.timeline.filter((e) => e.condition).map((e) => ({ ...e, for: durationS }));
  const { kept } = stepSlos(compiled.slos ?? []);
  // A step judges its SLOs only: a game day's abort conditions and steady state are not its business.
  const { gameDay: _gameDay, ...run } = compiled;
  return {
    ...run,
    durationS,
    terminal: { ...compiled.terminal, count: Math.max(compiled.terminal.count, terminals) },
    fleet: {
      model: "open",
      operation,
      stages: [{ durationS, ratePerS: rate }],
      maxVUs: terminals,
      terminals,
    },
    terminals,
    timeline,
    phases: phasesOf(timeline, durationS),
    slos: kept,
    judgeFromS: window.warmupS,
  };
}
