import type { FleetModel, OpenFleet } from "./plan.ts";

// The open model's schedule, as k6's ramping-arrival-rate computes it: arrival n (1, 2, …) is due when the
// integral of the rate curve from load start reaches n. The first stage holds its own rate; each later stage
// ramps linearly from the previous stage's rate to its own; the curve is cut at durationS (an arrival due
// exactly there still starts). Each time comes from the integral, never from adding intervals, so no drift
// builds up (wrk2's constant throughput). Pure: unit-tested; striping lives here too.

interface Stage {
  startS: number;
  durationS: number;
  fromPerS: number;
  toPerS: number;
  /** Arrivals due before this stage (the integral at its start). */
  doneBefore: number;
  /** The integral at its end. */
  endCount: number;
}

/** Arrivals due up to and including an integral of `endCount`, within float error. */
const EPSILON = 1e-9;

/** The stages cut at `durationS` (a stage crossing the cut ends there at the rate it has reached). */
function cutStages(stages: OpenFleet["stages"], durationS: number): Stage[] {
  const out: Stage[] = [];
  let startS = 0;
  let done = 0;
  let previous = stages[0]?.ratePerS ?? 0;
  for (const stage of stages) {
    if (startS >= durationS) break;
    const take = Math.min(stage.durationS, durationS - startS);
    const toPerS = previous + ((stage.ratePerS - previous) * take) / stage.durationS;
    const endCount = done + (take * (previous + toPerS)) / 2;
    if (take > 0)
      out.push({ startS, durationS: take, fromPerS: previous, toPerS, doneBefore: done, endCount });
    startS += take;
    done = endCount;
    previous = stage.ratePerS;
  }
  return out;
}

/** Seconds into `stage` at which its integral reaches `m` (0 < m ≤ its arrivals). */
function solve(stage: Stage, m: number): number {
  const a = stage.fromPerS;
  const slope = (stage.toPerS - a) / stage.durationS;
  // a·x + slope·x²/2 = m, in the form that stays exact when slope → 0 (no cancellation).
  const root = Math.sqrt(Math.max(0, a * a + 2 * slope * m));
  const x = a + root > 0 ? (2 * m) / (a + root) : 0;
  return Math.min(stage.durationS, x);
}

/**
 * The arrivals of one stripe: arrival n (1-based) belongs to stripe (n − 1) mod `step` (so arrival k, 0-based,
 * to segment k mod N); `first` is the stripe's index. `next()` gives each due time in ms from load start, in
 * order, then undefined.
 */
export class ArrivalSchedule {
  private readonly stages: Stage[];
  private readonly step: number;
  private n: number;
  private stage = 0;

  constructor(stages: OpenFleet["stages"], durationS: number, first = 0, step = 1) {
    if (!Number.isInteger(step) || step < 1 || !Number.isInteger(first) || first < 0 || first >= step) {
      throw new Error(`arrival stripe ${first} of ${step} is not a stripe (0 ≤ first < step)`);
    }
    this.stages = cutStages(stages, durationS);
    this.step = step;
    this.n = first + 1;
  }

  /** Arrivals due over the whole (cut) curve, all stripes together. */
  get total(): number {
    const last = this.stages[this.stages.length - 1];
    return last === undefined ? 0 : Math.floor(last.endCount + EPSILON);
  }

  next(): number | undefined {
    const n = this.n;
    while (this.stage < this.stages.length && n > this.stages[this.stage]!.endCount + EPSILON) this.stage++;
    const stage = this.stages[this.stage];
    if (stage === undefined) return undefined;
    this.n += this.step;
    return (stage.startS + solve(stage, n - stage.doneBefore)) * 1000;
  }
}

/** Every due time of a stripe, ms from load start (tests and small plans). */
export function arrivalTimesMs(
  stages: OpenFleet["stages"],
  durationS: number,
  first = 0,
  step = 1,
): number[] {
  const schedule = new ArrivalSchedule(stages, durationS, first, step);
  const out: number[] = [];
  for (let t = schedule.next(); t !== undefined; t = schedule.next()) out.push(t);
  return out;
}

/** Striped share of `total` for segment `index` of `count`: how many of 0…total−1 are ≡ index (mod count). */
export function stripeShare(total: number, index: number, count: number): number {
  return index >= total ? 0 : Math.ceil((total - index) / count);
}

/**
 * The most segments a plan can use: each needs a terminal (open and closed models: of `terminalCount` unless the
 * fleet names its own), and (open, closed) a share of the concurrency.
 */
export function maxSegments(fleet: FleetModel, terminalCount: number): number {
  if (fleet.model === "population") return Math.max(1, fleet.terminals);
  const terminals = fleet.terminals ?? terminalCount;
  return Math.max(1, Math.min(terminals, fleet.model === "closed" ? fleet.vus : fleet.maxVUs));
}

/**
 * Operations a second one segment is planned for. Measured on 2 cores through the containers lab (one open-model
 * run each: a 10 s ramp, then 30 s at 2,250 sign-ins/s): with one segment its thread was 0.32 busy (event-loop
 * utilisation) and the fleet's threads spent 0.17 ms of CPU per sign-in; with two segments sharing that rate,
 * 0.26 ms. Every extra thread wakes for its own share of the events, and the cores it takes are the lab's.
 */
export const SEGMENT_OPS_PER_S = 3_000;

/**
 * The most operations a second a plan asks for, where the plan says: the open model's highest stage rate; the
 * population model's sign-in curve at its peak (uniform: terminals / window; normal: terminals / (σ √(2π))),
 * times one plus the purchases per terminal. The closed model runs as fast as the switch answers: undefined.
 */
export function plannedPeakPerS(fleet: FleetModel): number | undefined {
  if (fleet.model === "open") return Math.max(0, ...fleet.stages.map((s) => s.ratePerS));
  if (fleet.model === "closed") return undefined;
  const { curve, windowS } = fleet.signIn;
  const sigmaS = fleet.signIn.sigmaS ?? windowS / 6;
  const signInsPerS =
    curve === "uniform" || sigmaS <= 0
      ? fleet.terminals / Math.max(windowS, 1)
      : fleet.terminals / (sigmaS * Math.sqrt(2 * Math.PI));
  return signInsPerS * (1 + fleet.purchases.perTerminal);
}

/**
 * Loops one closed-model segment is given. A closed loop's rate is the switch's, not planned, so its segments
 * follow its loops: measured on 2 cores through the containers lab (one run each, 64 loops), one segment drove
 * the loops at about 0.16 ms of CPU per sign-in, two segments at 0.23 ms, and the cores the second thread took
 * were the lab's (fleet 2,307 sign-ins/s against the single-threaded client's 3,004).
 */
export const SEGMENT_CLOSED_LOOPS = 512;

/**
 * Segments when the run does not say: one per SEGMENT_OPS_PER_S of the plan's peak, or for the closed model one
 * per SEGMENT_CLOSED_LOOPS loops; at least one, at most one per core.
 */
export function defaultSegments(fleet: FleetModel, cores: number): number {
  const wanted =
    fleet.model === "closed"
      ? fleet.vus / SEGMENT_CLOSED_LOOPS
      : (plannedPeakPerS(fleet) ?? 0) / SEGMENT_OPS_PER_S;
  return Math.max(1, Math.min(cores, Math.ceil(wanted)));
}
