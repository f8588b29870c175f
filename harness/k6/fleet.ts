// The terminal fleet: k6 runs this script with the run plan's path in POSSTORM_PLAN (harness/load/fleet.ts
// writes the plan and starts k6). The plan's fleet picks the load model:
//
// - population: `per-vu-iterations`, one iteration per VU lasting the whole run. Each VU drives its share of
//   terminals concurrently (terminal i on VU i mod vus + 1): sign-in at a time drawn from the curve (retried by
//   the policy), then the purchases with think time; long-mode terminals keep their link and echo until the
//   deadline.
// - open: `ramping-arrival-rate` over the stages; each iteration is one operation on the next terminal the VU
//   owns (a purchase signs in first when needed).
//
// Both end by themselves at durationS: population terminals start no operation after it; the open model's
// stages are cut there, and an iteration k6 started before completes its operation (no sign-in retry starts
// after it). Operations in flight end on their own timers, so k6 ends at most graceS(terminal, model) seconds
// later. Metrics: harness/k6/terminal/metrics.ts.

import exec from "k6/execution";
import type { Options, Scenario } from "k6/options";
import { graceS, OPERATIONS, OUTCOMES, REPORTED_CODES, type RunPlan } from "./plan.ts";
import {
  type FleetContext,
  openStages,
  openTerminalIndex,
  type RunPlanInput,
  recordScheduleLag,
  resolvePlan,
  signInOffsetMs,
  sleep,
  Terminal,
  terminalsOfVu,
  thinkTimeMs,
  tidOf,
} from "./terminal/index.ts";

const planPath = __ENV.POSSTORM_PLAN;
if (!planPath) throw new Error("POSSTORM_PLAN must name the run plan file (JSON)");
const plan: RunPlan = resolvePlan(JSON.parse(open(planPath)) as RunPlanInput);
const grace = graceS(plan.terminal, plan.fleet.model);

function scenario(): Scenario {
  const fleet = plan.fleet;
  if (fleet.model === "population") {
    return {
      executor: "per-vu-iterations",
      vus: fleet.vus,
      iterations: 1,
      maxDuration: `${Math.ceil(plan.durationS) + grace}s`,
      gracefulStop: "5s",
    };
  }
  const { timeUnit, startRate, stages } = openStages(fleet.stages, plan.durationS);
  return {
    executor: "ramping-arrival-rate",
    startRate,
    timeUnit,
    stages,
    preAllocatedVUs: fleet.preAllocatedVUs,
    maxVUs: fleet.maxVUs,
    gracefulStop: `${grace}s`,
  };
}

// Always-true thresholds make k6's summary report each submetric (harness/load/fleet.ts reads them).
const always = ["count>=0"];
const thresholds: Record<string, string[]> = {};
for (const op of OPERATIONS) {
  for (const outcome of OUTCOMES) thresholds[`pos_ops{op:${op},outcome:${outcome}}`] = always;
  for (const code of REPORTED_CODES) thresholds[`pos_ops{op:${op},code:${code}}`] = always;
  for (const kind of ["connect", "response", "idle"])
    thresholds[`pos_timeouts{op:${op},kind:${kind}}`] = always;
  thresholds[`pos_retries{op:${op}}`] = always;
  thresholds[`pos_op_duration{op:${op}}`] = ["max>=0"];
}
for (const event of ["queued", "settled", "abandoned"])
  thresholds[`pos_reversal_events{event:${event}}`] = always;
for (const change of ["signed-in", "signed-out"])
  thresholds[`pos_session_changes{change:${change}}`] = always;

export const options: Options = {
  scenarios: { [plan.fleet.model]: scenario() },
  thresholds,
  tags: { run: plan.runId },
};

// Per VU: its terminals (created on first use) and the shared context.
const labKey = Terminal.labKey(plan);
const terminals = new Map<number, Terminal>();
let context: FleetContext | undefined;

function fleetContext(): FleetContext {
  context ??= { plan, deadline: exec.scenario.startTime + plan.durationS * 1000, random: Math.random };
  return context;
}

function terminal(index: number): Terminal {
  let t = terminals.get(index);
  if (t === undefined) {
    t = new Terminal(tidOf(plan.terminal.tidPrefix, plan.terminal.firstTid + index), fleetContext(), labKey);
    terminals.set(index, t);
  }
  return t;
}

/** Sleeps `ms`, but not past the deadline; false when the deadline comes first. Records the wake-up lag. */
async function sleepBefore(ms: number, deadline: number): Promise<boolean> {
  const wake = Date.now() + ms;
  if (wake >= deadline) {
    await sleep(deadline - Date.now());
    return false;
  }
  await sleep(ms);
  recordScheduleLag(wake);
  return true;
}

async function populationTerminal(index: number, ctx: FleetContext): Promise<void> {
  if (plan.fleet.model !== "population") return;
  const fleet = plan.fleet;
  const startAt = exec.scenario.startTime + signInOffsetMs(fleet.signIn, ctx.random);
  if (startAt >= ctx.deadline) return;
  await sleep(startAt - Date.now());
  recordScheduleLag(startAt);
  const t = terminal(index);
  try {
    await t.signInWithRetry();
    for (let i = 0; i < fleet.purchases.perTerminal; i++) {
      if (!(await sleepBefore(thinkTimeMs(fleet.purchases.thinkTimeS, ctx.random), ctx.deadline))) return;
      await t.transaction();
    }
    // A long-link terminal stays on its link, echoing, until the run ends.
    if (plan.terminal.mode === "long") await sleep(ctx.deadline - Date.now());
  } finally {
    await t.stop();
  }
}

export default async function (): Promise<void> {
  const ctx = fleetContext();
  const fleet = plan.fleet;
  if (fleet.model === "population") {
    const mine = terminalsOfVu(fleet.terminals, fleet.vus, exec.vu.idInTest);
    await Promise.all(mine.map((index) => populationTerminal(index, ctx)));
    return;
  }
  const count = fleet.terminals ?? plan.terminal.count;
  const t = terminal(openTerminalIndex(count, fleet.maxVUs, exec.vu.idInTest, exec.vu.iterationInScenario));
  // k6 starts no iteration after the stages (cut at durationS): one it started completes its operation.
  if (fleet.operation === "signin") await t.signInWithRetry(true);
  else await t.transaction(true);
}
