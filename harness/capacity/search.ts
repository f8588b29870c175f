// The capacity search as pure logic: which rate to run next, given the steps so far. Steps up by a factor from
// the start rate until a step fails, then bisects between the last pass and the first fail until they are
// within `precision` of each other, then runs the boundary again (`repeats` times each side) so the answer is a
// band, not a point. A step the generator limited is inconclusive: it is never a pass, and the search stops
// there (nothing above it can be judged). The runner of one step is given, so the logic is tested without a lab.

export type StepStatus = "pass" | "fail" | "inconclusive" | "error";

/**
 * Why the step was run: stepping up, stepping down (the start rate failed), bisecting, repeating the boundary,
 * or again after an inconclusive run.
 */
export type StepPurpose = "step-up" | "step-down" | "bisect" | "repeat" | "retry";

export interface SearchSettings {
  /** First rate, per second. */
  startRate: number;
  /** No step above it: reaching it with a pass ends the search ("at least maxRate"). */
  maxRate: number;
  /** Stepping up multiplies the rate by it (2: doubling). */
  factor: number;
  /** Bisection stops when (first fail − last pass) ≤ precision × last pass. */
  precision: number;
  /** Extra runs of each boundary rate (the last pass and the first fail). */
  repeats: number;
  /**
   * Times an inconclusive step is run again before the search stops there: a machine shared with the lab has
   * moments when the generator is held up for reasons of its own (another process, a collection), and one such
   * moment should not end a search. A rate that is inconclusive every time stops it.
   */
  retries: number;
}

export const DEFAULT_SEARCH: SearchSettings = {
  startRate: 50,
  maxRate: 20_000,
  factor: 2,
  precision: 0.05,
  repeats: 1,
  retries: 1,
};

export interface SearchStep {
  rate: number;
  status: StepStatus;
}

/** How the search ended. */
export type StopReason =
  | "converged" // bisection narrowed the boundary to the precision
  | "max-rate" // the highest rate allowed passed
  | "inconclusive" // a step was generator-limited: nothing above it can be judged
  | "budget" // the time budget ran out
  | "error" // a step did not complete (the lab or the fleet failed)
  | "floor"; // even 1/s failed

export interface Band {
  /** The highest rate that passed every time it ran, below every rate that failed. */
  low: number;
  /** The lowest rate that failed at least once (undefined: none failed). */
  high?: number;
}

export interface SearchOutcome<S extends SearchStep> {
  steps: S[];
  stoppedBy: StopReason;
  /** The band where the SLOs start to break; undefined when no rate passed. */
  band?: Band;
}

/**
 * Runs the search. `runStep` runs one step at a rate and returns it, or undefined when the budget does not allow
 * another step.
 */
export async function searchCapacity<S extends SearchStep>(
  settings: SearchSettings,
  runStep: (rate: number, purpose: StepPurpose) => Promise<S | undefined>,
): Promise<SearchOutcome<S>> {
  const steps: S[] = [];
  const run = async (rate: number, purpose: StepPurpose): Promise<S | "stop"> => {
    for (let attempt = 0; ; attempt++) {
      const step = await runStep(rate, attempt === 0 ? purpose : "retry");
      if (!step) return "stop";
      steps.push(step);
      if (step.status !== "inconclusive" || attempt >= settings.retries) return step;
    }
  };
  const end = (stoppedBy: StopReason): SearchOutcome<S> => {
    const band = bandOf(steps);
    return { steps, stoppedBy, ...(band ? { band } : {}) };
  };
  const stopFor = (step: S | "stop"): StopReason | undefined =>
    step === "stop"
      ? "budget"
      : step.status === "inconclusive"
        ? "inconclusive"
        : step.status === "error"
          ? "error"
          : undefined;

  let pass: number | undefined;
  let fail: number | undefined;
  let rate = Math.max(1, Math.round(settings.startRate));
  // Step up from the start rate until a step fails (or the highest rate passes).
  for (;;) {
    const step = await run(rate, "step-up");
    const stop = stopFor(step);
    if (stop) return end(stop);
    if ((step as S).status === "fail") {
      fail = rate;
      break;
    }
    pass = rate;
    if (rate >= settings.maxRate) return end("max-rate");
    rate = Math.min(settings.maxRate, Math.max(rate + 1, Math.round(rate * settings.factor)));
  }
  // The start rate failed: step down until a step passes.
  while (pass === undefined) {
    if (rate <= 1) return end("floor");
    rate = Math.max(1, Math.floor(rate / settings.factor));
    const step = await run(rate, "step-down");
    const stop = stopFor(step);
    if (stop) return end(stop);
    if ((step as S).status === "pass") pass = rate;
    else fail = rate;
  }
  // Bisect between the last pass and the first fail.
  while (fail - pass > Math.max(1, settings.precision * pass)) {
    const mid = Math.round((pass + fail) / 2);
    const step = await run(mid, "bisect");
    const stop = stopFor(step);
    if (stop) return end(stop);
    if ((step as S).status === "pass") pass = mid;
    else fail = mid;
  }
  // The boundary again, both sides: the band is what held (or broke) every time.
  for (let i = 0; i < settings.repeats; i++) {
    for (const r of [pass, fail]) {
      const step = await run(r, "repeat");
      const stop = stopFor(step);
      if (stop) return end(stop);
    }
  }
  return end("converged");
}

/**
 * The band from the conclusive steps: high = the lowest rate that ever failed; low = the highest rate below it
 * that passed every time it ran. Undefined when no such rate exists.
 */
export function bandOf(steps: readonly SearchStep[]): Band | undefined {
  const failed = steps.filter((s) => s.status === "fail").map((s) => s.rate);
  const high = failed.length > 0 ? Math.min(...failed) : undefined;
  const everFailed = new Set(failed);
  const held = steps
    .filter((s) => s.status === "pass" && !everFailed.has(s.rate) && (high === undefined || s.rate < high))
    .map((s) => s.rate);
  if (held.length === 0) return undefined;
  return { low: Math.max(...held), ...(high !== undefined ? { high } : {}) };
}
