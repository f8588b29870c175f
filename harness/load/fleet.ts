import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  graceS,
  OPERATIONS,
  type Operation,
  OUTCOMES,
  type Outcome,
  REPORTED_CODES,
  type RunPlan,
} from "../k6/plan.ts";
import { type RunPlanInput, resolvePlan } from "../k6/terminal/plan-check.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { type K6Result, type K6Summary, runK6 } from "./k6.ts";
import { K6_RESULTS_FILE, type Point, type RecordedResults, ResultsRecorder } from "./results.ts";

// Node side of the terminal fleet: write the run plan, run harness/k6/fleet.ts on it, read the outcomes.

export const FLEET_SCRIPT = "harness/k6/fleet.ts";

export interface RunFleetOptions {
  /** The plan; missing terminal settings take DEFAULT_TERMINAL's (harness/k6/plan.ts). Checked before k6 starts. */
  plan: RunPlanInput;
  /** Gets plan.json (as k6 read it) and k6-results.json.gz (posstorm's samples from k6's `--out json`, gzipped). */
  runDir: string;
  /** Wall-clock limit for k6; default durationS + grace + 60 s (k6 start-up, many VUs' init). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** More `k6 run` flags, e.g. ["--out", "experimental-prometheus-rw"]. */
  extraArgs?: readonly string[];
  /** Each posstorm sample while k6 runs, in the order k6 writes them (the live line, the aggregator). */
  onPoint?: (point: Point) => void;
}

export interface FleetRun extends K6Result {
  /** The plan as written to plan.json (defaults filled in). */
  plan: RunPlan;
  planPath: string;
  /**
   * k6-results.json.gz: k6's JSON output lines of the pos_* metrics, every sample
   * (`{"metric":"pos_ops","type":"Point","data":{…}}`); absent when k6 wrote none.
   */
  resultsPath: string;
  /** What k6 wrote and what was kept of it. */
  results: RecordedResults;
}

/** Writes `<runDir>/plan.json` and runs the fleet script on it; resolves with k6's exit code and summary. */
export async function runFleet(opts: RunFleetOptions): Promise<FleetRun> {
  const plan = resolvePlan(opts.plan);
  const runDir = resolve(opts.runDir);
  await mkdir(runDir, { recursive: true });
  const planPath = join(runDir, "plan.json");
  const resultsPath = join(runDir, K6_RESULTS_FILE);
  await writeFile(planPath, `${JSON.stringify(plan, null, 2)}\n`);
  const timeoutMs = opts.timeoutMs ?? (plan.durationS + graceS(plan.terminal, plan.fleet.model) + 60) * 1000;
  const recorder = new ResultsRecorder({
    file: resultsPath,
    ...(opts.onPoint ? { onPoint: opts.onPoint } : {}),
  });
  const result = await runK6({
    script: FLEET_SCRIPT,
    cwd: REPO_ROOT,
    env: { POSSTORM_PLAN: planPath },
    args: opts.extraArgs ?? [],
    jsonOutput: recorder,
    timeoutMs,
    signal: opts.signal,
  });
  return { ...result, plan, planPath, resultsPath, results: recorder.stats };
}

/** Operation counts of a run, from k6's summary. */
export interface OutcomeCounts {
  /** op → outcome → operations (every outcome listed, 0 when none). */
  byOutcome: Record<Operation, Record<Outcome, number>>;
  /** op → F39 → operations that got a reply with it (codes in REPORTED_CODES; others only in `total`). */
  byCode: Record<Operation, Record<string, number>>;
  /** op → timeout kind → operations. */
  timeouts: Record<Operation, { connect: number; response: number; idle: number }>;
  /** op → retries (sign-in retries by policy; reversal attempts after the first). */
  retries: Record<Operation, number>;
  /** op → operations of any outcome. */
  total: Record<Operation, number>;
  reversals: { queued: number; settled: number; abandoned: number };
  sessions: { signedIn: number; signedOut: number };
}

/**
 * Reads the pos_* submetrics the fleet script names in always-true thresholds (k6 puts exactly those in its
 * summary export): `pos_ops{op:purchase,outcome:approved}`, `pos_ops{op:purchase,code:98}`, … Absent = 0.
 * (The raw samples, with every tag, are in the run's k6-results.json.gz.)
 */
export function outcomeCounts(summary: K6Summary): OutcomeCounts {
  const count = (name: string) => summary.metrics[name]?.values.count ?? 0;
  const perOp = <T>(fn: (op: Operation) => T) =>
    Object.fromEntries(OPERATIONS.map((op) => [op, fn(op)])) as Record<Operation, T>;
  const byOutcome = perOp(
    (op) =>
      Object.fromEntries(OUTCOMES.map((o) => [o, count(`pos_ops{op:${op},outcome:${o}}`)])) as Record<
        Outcome,
        number
      >,
  );
  return {
    byOutcome,
    byCode: perOp((op) =>
      Object.fromEntries(
        REPORTED_CODES.map((c) => [c, count(`pos_ops{op:${op},code:${c}}`)]).filter(([, n]) => n !== 0),
      ),
    ),
    timeouts: perOp((op) => ({
      connect: count(`pos_timeouts{op:${op},kind:connect}`),
      response: count(`pos_timeouts{op:${op},kind:response}`),
      idle: count(`pos_timeouts{op:${op},kind:idle}`),
    })),
    retries: perOp((op) => count(`pos_retries{op:${op}}`)),
    total: perOp((op) => Object.values(byOutcome[op]).reduce((a, b) => a + b, 0)),
    reversals: {
      queued: count("pos_reversal_events{event:queued}"),
      settled: count("pos_reversal_events{event:settled}"),
      abandoned: count("pos_reversal_events{event:abandoned}"),
    },
    sessions: {
      signedIn: count("pos_session_changes{change:signed-in}"),
      signedOut: count("pos_session_changes{change:signed-out}"),
    },
  };
}
