import { cpus } from "node:os";
import { join, relative } from "node:path";
import { loadProfile } from "../profile/compile.ts";
import { ProfileError } from "../profile/validate.ts";
import { type OperationFigures, operationFigures } from "../run/figures.ts";
import { finishedRun, manyRuns, manyRunsFolder, unfinished } from "../run/many-runs.ts";
import { runCompiled } from "../run/run-profile.ts";
import { renderCapacity } from "./render.ts";
import { type FirstSaturation, firstSaturated, type ResourceReading, readResources } from "./saturation.ts";
import {
  type Band,
  bandOf,
  DEFAULT_SEARCH,
  type SearchSettings,
  type SearchStep,
  type StepPurpose,
  type StopReason,
  searchCapacity,
} from "./search.ts";
import { type CapacityOperation, type StepWindow, stepRun, stepSlos } from "./step.ts";

// `posstorm capacity <profile>`: the highest rate of the profile's operation at which all its SLOs hold. Each
// step is a whole run (steps/NN-<rate>/ in the capacity folder, with its raw samples); the search is search.ts,
// what saturated is saturation.ts, the reports render.ts. capacity.json keeps every figure the reports show.

export const CAPACITY_FILE = "capacity.json";
export const STEPS_DIR = "steps";

export interface CapacityOptions {
  profile: string;
  reportsDir: string;
  /** Default: the profile's open or closed model's operation. */
  operation?: CapacityOperation;
  search?: Partial<SearchSettings>;
  window?: Partial<StepWindow>;
  /** Seconds the whole search may take; a step that would not fit is not started. */
  budgetS?: number;
  /** CI gate: exit 1 when the capacity found is below it. */
  minRate?: number;
  /** Cap on a step's terminals (default: enough for rate × (connect + response timeout)). */
  maxTerminals?: number;
  runtime?: "containers" | "local";
  segments?: number;
  allowRemote?: boolean;
  log?: (line: string) => void;
}

export interface CapacityStep extends SearchStep, OperationFigures {
  /** 1, 2, … in the order run. */
  index: number;
  purpose: StepPurpose;
  /** The step's run folder, relative to the capacity folder. */
  dir: string;
  /** SLOs that failed in the judged window. */
  failing: string[];
  /** Why the generator was the bottleneck (inconclusive steps). */
  generator: string[];
  resources: ResourceReading[];
  wallS: number;
  error?: string;
}

export interface CapacityResult {
  id: string;
  profile: { name: string; file: string };
  operation: CapacityOperation;
  search: SearchSettings;
  window: StepWindow;
  budgetS?: number;
  minRate?: number;
  startedAt: string;
  endedAt?: string;
  status: "running" | "completed" | "interrupted";
  steps: CapacityStep[];
  stoppedBy?: StopReason;
  band?: Band;
  /** The highest rate that held every time (band.low); null when none did. */
  capacity: number | null;
  saturated?: FirstSaturation;
  /** SLOs of the profile a step cannot judge (they need a fault), left out. */
  sloLeftOut: string[];
  verdict: CapacityVerdict;
}

export interface CapacityVerdict {
  /** pass: an answer (at or above --min); fail: below --min; inconclusive: no answer the gate can use. */
  status: "pass" | "fail" | "inconclusive";
  exitCode: 0 | 1 | 2;
  /** The sentence a user wants: `1,840 ± 40 sign-ins/s; the HSM saturated first (from step 5)`. */
  headline: string;
  notes: string[];
}

export const DEFAULT_WINDOW: StepWindow = { warmupS: 5, steadyS: 10 };

export async function runCapacity(opts: CapacityOptions): Promise<CapacityResult & { dir: string }> {
  const log = opts.log ?? ((line: string) => console.log(`[capacity] ${line}`));
  const { compiled, file } = await loadProfile(opts.profile);
  const operation = opts.operation ?? operationOf(compiled.fleet, file);
  const slos = compiled.slos ?? [];
  // The reference switch is one Node thread; a switch of yours may use what its profile says, else every core.
  const switchCores = compiled.switchMetrics ? (compiled.switchMetrics.cores ?? cpus().length) : 1;
  const { kept, dropped } = stepSlos(slos);
  if (kept.length === 0)
    throw new ProfileError(file, [
      slos.length === 0
        ? "capacity needs SLOs: the highest rate is the one where they still hold (add `slos`)"
        : "capacity needs an SLO a step can judge: every SLO here is about a fault (phase, link or recovery time)",
    ]);
  const search: SearchSettings = { ...DEFAULT_SEARCH, ...opts.search };
  const window: StepWindow = { ...DEFAULT_WINDOW, ...opts.window };
  checkSettings(search, window, opts);
  const started = new Date();
  const { id, dir } = manyRunsFolder(opts.reportsDir, compiled.profile.name, "capacity", started);
  const result: CapacityResult = {
    id,
    profile: { name: compiled.profile.name, file },
    operation,
    search,
    window,
    ...(opts.budgetS !== undefined ? { budgetS: opts.budgetS } : {}),
    ...(opts.minRate !== undefined ? { minRate: opts.minRate } : {}),
    startedAt: started.toISOString(),
    status: "running",
    steps: [],
    capacity: null,
    sloLeftOut: dropped.map((s) => s.id ?? s.indicator),
    verdict: { status: "inconclusive", exitCode: 2, headline: "search running", notes: [] },
  };
  log(`capacity search of ${operation}s → ${dir}`);
  if (dropped.length > 0) log(`left out (they need a fault): ${result.sloLeftOut.join(", ")}`);

  const deadline = opts.budgetS !== undefined ? started.getTime() + opts.budgetS * 1000 : Infinity;
  let lastWallS = window.warmupS + window.steadyS + 10;
  const runStep = async (
    rate: number,
    purpose: StepPurpose,
    stopped: () => boolean,
    save: () => void,
  ): Promise<CapacityStep | undefined> => {
    if (stopped()) return undefined;
    if (Date.now() + lastWallS * 1000 > deadline) {
      log(
        `budget: ${opts.budgetS} s would be passed by another step (~${Math.round(lastWallS)} s): stopping`,
      );
      return undefined;
    }
    const index = result.steps.length + 1;
    const stepId = `${String(index).padStart(2, "0")}-${rate}ps`;
    log(`step ${index} (${purpose}): ${rate} ${operation}s/s for ${window.warmupS} + ${window.steadyS} s …`);
    const t0 = performance.now();
    const outcome = await runCompiled(stepRun(compiled, operation, rate, window, opts.maxTerminals), {
      reportsDir: join(dir, STEPS_DIR),
      runId: stepId,
      live: false,
      ...(opts.runtime ? { runtime: opts.runtime } : {}),
      ...(opts.segments !== undefined ? { segments: opts.segments } : {}),
      ...(opts.allowRemote ? { allowRemote: true } : {}),
      log: () => undefined,
    });
    const step = stepOf(outcome, { index, rate, purpose, dir, operation, window, wallS: 0, switchCores });
    step.wallS = (performance.now() - t0) / 1000;
    lastWallS = step.wallS;
    result.steps.push(step);
    save();
    log(describeStep(step, operation));
    return step;
  };

  await manyRuns({
    dir,
    subdir: STEPS_DIR,
    file: CAPACITY_FILE,
    result,
    finish,
    render: renderCapacity,
    log,
    body: async (stopped, save) => {
      const outcome = await searchCapacity(search, (rate, purpose) => runStep(rate, purpose, stopped, save));
      result.stoppedBy = outcome.stoppedBy;
    },
  });
  return { ...result, dir };
}

function operationOf(fleet: { model: string; operation?: string }, file: string): CapacityOperation {
  if (fleet.operation === "signin" || fleet.operation === "purchase") return fleet.operation;
  throw new ProfileError(file, [
    "capacity searches the rate of one operation: give --operation signin|purchase, or a profile with an open or closed fleet (`fleet.operation`)",
  ]);
}

function checkSettings(search: SearchSettings, window: StepWindow, opts: CapacityOptions): void {
  const problems: string[] = [];
  const positive = (name: string, x: number | undefined) => {
    if (x !== undefined && !(Number.isFinite(x) && x > 0))
      problems.push(`${name} must be a number above 0 (got ${x})`);
  };
  positive("--start", search.startRate);
  positive("--max", search.maxRate);
  positive("--steady", window.steadyS);
  positive("--budget", opts.budgetS);
  positive("--min", opts.minRate);
  positive("--terminals", opts.maxTerminals);
  if (!(window.warmupS >= 0)) problems.push(`--warmup must be 0 or more (got ${window.warmupS})`);
  if (!(search.factor > 1)) problems.push(`--factor must be above 1 (got ${search.factor})`);
  if (!(search.precision > 0 && search.precision < 1))
    problems.push(`--precision must be in (0, 1) (got ${search.precision})`);
  if (!(Number.isInteger(search.repeats) && search.repeats >= 0))
    problems.push(`--repeats must be a whole number ≥ 0 (got ${search.repeats})`);
  if (search.maxRate < search.startRate)
    problems.push(`--max (${search.maxRate}) is below --start (${search.startRate})`);
  if (problems.length > 0) throw new Error(`capacity: ${problems.join("; ")}`);
}

function stepOf(
  outcome: Awaited<ReturnType<typeof runCompiled>>,
  s: {
    index: number;
    rate: number;
    purpose: StepPurpose;
    dir: string;
    operation: CapacityOperation;
    window: StepWindow;
    wallS: number;
    switchCores: number;
  },
): CapacityStep {
  const base = {
    index: s.index,
    rate: s.rate,
    purpose: s.purpose,
    dir: relative(s.dir, outcome.runDir),
    wallS: s.wallS,
  };
  const finished = finishedRun(outcome);
  if ("error" in finished) {
    return {
      ...base,
      ...unfinished(finished.error),
      generator: [],
      resources: [],
    };
  }
  const { run, series, failing } = finished;
  const generator = run.fleet?.generator;
  const limited = generator?.limited === true;
  return {
    ...base,
    ...operationFigures(series, s.operation, s.window),
    status: limited ? "inconclusive" : failing.length > 0 ? "fail" : "pass",
    failing,
    generator: limited ? (generator?.reasons ?? []).map((r) => r.text) : [],
    resources: readResources({
      series,
      fromS: s.window.warmupS,
      toS: s.window.warmupS + s.window.steadyS,
      ...(run.fleet?.cpu ? { fleetCores: run.fleet.cpu.averageCores } : {}),
      machineCores: cpus().length,
      switchCores: s.switchCores,
    }),
  };
}

const OP_NAME: Record<CapacityOperation, string> = { signin: "sign-ins", purchase: "purchases" };

function describeStep(step: CapacityStep, operation: CapacityOperation): string {
  const figures =
    step.throughput !== null
      ? `${Math.round(step.throughput)} ${OP_NAME[operation]}/s done, p99 ${step.p99Ms ?? "–"} ms, timeouts ${pct(step.timeoutRate)}`
      : "no operations judged";
  const why =
    step.status === "fail"
      ? `: ${step.failing.join(", ")}`
      : step.status === "inconclusive"
        ? `: generator-limited (${step.generator.join("; ")})`
        : step.status === "error"
          ? `: ${step.error}`
          : "";
  const saturated = step.resources.filter((r) => r.saturated).map((r) => `${r.resource} (${r.signal})`);
  return `step ${step.index}: ${step.rate}/s ${step.status.toUpperCase()}${why}; ${figures}${
    saturated.length > 0 ? `; saturated: ${saturated.join(", ")}` : ""
  }`;
}

const pct = (x: number | null) => (x === null ? "–" : `${+(x * 100).toFixed(2)} %`);

/** Fills the result's band, capacity, first saturation and verdict from its steps. */
export function finish(result: CapacityResult, status: CapacityResult["status"]): void {
  result.status = status;
  result.endedAt = new Date().toISOString();
  const band = bandOf(result.steps);
  if (band) result.band = band;
  else delete result.band;
  result.capacity = band?.low ?? null;
  const saturated = firstSaturated(result.steps.filter((s) => s.status !== "error"));
  if (saturated) result.saturated = saturated;
  result.verdict = verdictOf(result);
}

const thousands = (x: number) => Math.round(x).toLocaleString("en-US");

/** `1,840 ± 40`, or `≥ 800` when nothing above it failed. */
export function bandText(band: Band): string {
  if (band.high === undefined) return `≥ ${thousands(band.low)}`;
  const mid = (band.low + band.high) / 2;
  const half = (band.high - band.low) / 2;
  return `${thousands(mid)} ± ${thousands(Math.max(1, half))}`;
}

function verdictOf(result: CapacityResult): CapacityVerdict {
  const notes: string[] = [];
  const op = OP_NAME[result.operation];
  const saturation = result.saturated
    ? `; ${result.saturated.resource} saturated first (${result.saturated.signal}, from step ${result.saturated.stepIndex} at ${thousands(result.saturated.rate)}/s)`
    : result.band
      ? "; no lab resource showed saturation in the steps run"
      : "";
  const conclusive = result.steps.some((s) => s.status === "pass" || s.status === "fail");
  const answer = result.band
    ? `${bandText(result.band)} ${op}/s (highest rate that held every time: ${thousands(result.band.low)}/s)`
    : conclusive
      ? "no rate held: every conclusive step broke an SLO"
      : "no answer: no step was conclusive";
  switch (result.stoppedBy) {
    case "inconclusive": {
      const step = [...result.steps].reverse().find((s) => s.status === "inconclusive");
      notes.push(
        `step ${step?.index} at ${step?.rate}/s was generator-limited (${step?.generator.join("; ")}): the figures describe posstorm, not the switch; nothing above it was judged`,
      );
      break;
    }
    case "budget":
      notes.push(`the time budget (${result.budgetS} s) ended the search before it converged`);
      break;
    case "max-rate":
      notes.push(
        `the highest rate allowed (--max ${result.search.maxRate}) held: the capacity is at least that`,
      );
      break;
    case "error": {
      const step = [...result.steps].reverse().find((s) => s.status === "error");
      notes.push(`step ${step?.index} did not complete: ${step?.error}`);
      break;
    }
    case "floor":
      notes.push("even 1/s broke an SLO");
      break;
    default:
      break;
  }
  if (result.status === "interrupted") notes.push("interrupted: the steps so far are reported");
  const inconclusive = result.steps.filter((s) => s.status === "inconclusive").length;
  if (inconclusive > 0 && result.stoppedBy !== "inconclusive")
    notes.push(`${inconclusive} step(s) inconclusive (generator-limited)`);
  const headline = `capacity: ${answer}${saturation}`;
  const answered =
    result.status === "completed" &&
    (result.stoppedBy === "converged" || result.stoppedBy === "max-rate" || result.stoppedBy === "floor");
  if (result.minRate !== undefined) {
    const low = result.band?.low ?? 0;
    if (result.band && low >= result.minRate)
      return {
        status: "pass",
        exitCode: 0,
        headline: `${headline}; at or above --min ${thousands(result.minRate)}`,
        notes,
      };
    // Below the gate: a fail when a conclusive step at or below --min broke an SLO; else it is not known.
    const brokeBelow = result.steps.some((s) => s.status === "fail" && s.rate <= result.minRate!);
    if (brokeBelow)
      return {
        status: "fail",
        exitCode: 1,
        headline: `${headline}; below --min ${thousands(result.minRate)}`,
        notes,
      };
    return {
      status: "inconclusive",
      exitCode: 2,
      headline: `${headline}; --min ${thousands(result.minRate)} neither met nor refuted`,
      notes,
    };
  }
  return answered
    ? { status: "pass", exitCode: 0, headline, notes }
    : { status: "inconclusive", exitCode: 2, headline, notes };
}
