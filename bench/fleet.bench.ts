import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bytesPerTerminalSlope } from "../harness/fleet/live-heap.ts";
import type { Outcome } from "../harness/fleet/plan.ts";
import type { ThreadPriority } from "../harness/fleet/thread-priority.ts";
import { runFile } from "../harness/run-folder/index.ts";
import { harnessSplit, runWatched, type WatchedRun, writeTempProfile } from "./fleet-run.ts";
import { rateRuleFailures } from "./pass-rule.ts";
import { groupCpuSeconds, LAB_GROUPS, readText, waitForQuiet } from "./process-watch.ts";

// Fleet benchmarks: posstorm's fleet engine (harness/fleet) against the whole containers lab, run as
// `posstorm run` runs it (runProfile in this process: the fleet's worker threads are threads of this process).
//
// - benchStorm: a population profile end to end (default morning-signin-storm), memory per terminal from the
//   fleet's worker heaps, schedule lag, the whole run's CPU of every program;
// - benchFleetRate: open-model sign-ins at increasing constant rates, one short run each (a temporary profile
//   per rate), up until a step fails, then bisected;
// - benchOpen: one open-model run at a given rate (achieved against target).
// The Node client ceiling is node-ceiling.ts; the process and thread watches are process-watch.ts and
// fleet-threads.ts.
//
//   node bench/fleet.bench.ts storm|rate|open [rate]

/** CPU of every program over a run's load, seconds, as the tables show them. */
export interface CpuBreakdown {
  /** The harness process: fleet worker threads + coordinator + aggregator + scraper + container log streams. */
  harnessS: number;
  /** The fleet's worker threads alone (their own CPU after `ready`). */
  fleetWorkersS: number;
  /** Lab groups (LAB_GROUPS): toxiproxy, switch, hsm, issuers, dockerd + shims. */
  lab: Record<string, number>;
  loadSeconds: number;
}

export function cpuBreakdown(run: WatchedRun): CpuBreakdown {
  const split = harnessSplit(run);
  return {
    harnessS: split.harnessS,
    fleetWorkersS: split.workersS,
    lab: Object.fromEntries(LAB_GROUPS.map((g) => [g.label, groupCpuSeconds(run.processes, g.roles)])),
    loadSeconds: run.loadSeconds,
  };
}

/** Cores per 1,000 operations/s = CPU seconds per 1,000 operations. */
export const per1000 = (cpuSeconds: number, operations: number) =>
  operations > 0 ? (cpuSeconds / operations) * 1000 : Number.NaN;

// ---------------------------------------------------------------------------------------------------------
// Open-model rate steps (fleet-rate, fleet-open).

export interface RateStep {
  ratePerS: number;
  durationS: number;
  status: string;
  error?: string;
  /** Sign-ins of every outcome, and those whose intended start is inside [0, durationS). */
  signIns: number;
  started: number;
  /** started / durationS. */
  achievedPerS: number;
  approved: number;
  /** Outcomes other than approved, by name (only those seen). */
  others: Partial<Record<Outcome, number>>;
  approvedRatio: number;
  dropped: number;
  generatorLimited: boolean;
  generatorReasons: string[];
  p50Ms?: number;
  p99Ms?: number;
  /** Schedule lag p99 of every start, and the worst per-second p99 of any segment (run.json). */
  lagP99Ms: number;
  lagP99WorstSecondMs?: number;
  /** Fleet segments (run.json fleet.segments). */
  segments?: number;
  /** The fleet's worker threads' scheduling (run.json fleet.threadPriority; null in-process). */
  threadPriority?: (ThreadPriority | null)[];
  cpu: CpuBreakdown;
  /** The harness process's peak resident set (VmHWM), MiB. */
  harnessPeakRssMiB: number;
  passed: boolean;
  /** 1, or 2 when the rate ran again after failing only on the generator's per-second bounds. */
  attempt?: number;
  /** Why a step failed, one phrase each. */
  failures: string[];
  loadAverageBefore: number;
  loadAverageMax: number;
  machine: { busyCores: number; otherCores: number };
  /** The machine's busy cores just before the step (nothing of the bench running): other people's work. */
  othersBefore?: number;
  runDir: string;
}

/** The ramp before a rate step's constant stage, s: a fresh lab warms up (JIT) at a lower rate first. */
export const RAMP_S = 10;

/**
 * Open-model sign-in profile at one constant rate for `durationS`, after `rampS` of a ramp from a tenth of the
 * rate (k6's ramping-arrival-rate with a ramp-up stage); the concurrency cap is one second's worth of arrivals.
 */
export function rateProfile(ratePerS: number, durationS: number, rampS = 0): Record<string, unknown> {
  const hold = { durationS, ratePerS };
  const stages =
    rampS > 0
      ? [
          { durationS: 1, ratePerS: Math.max(1, Math.round(ratePerS / 10)) },
          { durationS: rampS - 1, ratePerS },
          hold,
        ]
      : [hold];
  return {
    name: `bench-signin-${ratePerS}`,
    description:
      `open model, ${ratePerS} sign-ins/s for ${durationS} s` + (rampS > 0 ? ` after a ${rampS} s ramp` : ""),
    durationS: rampS + durationS,
    lab: { runtime: "containers" },
    terminal: {
      connectTimeoutMs: 5_000,
      responseTimeoutMs: 5_000,
      idleTimeoutMs: 5_000,
      retry: { policy: "none" },
    },
    fleet: {
      model: "open",
      operation: "signin",
      stages,
      maxVUs: Math.max(50, ratePerS),
      terminals: 10_000,
    },
  };
}

export async function benchRateStep(
  ratePerS: number,
  durationS: number,
  progress?: (line: string) => void,
): Promise<RateStep> {
  const file = writeTempProfile(`signin-${ratePerS}`, rateProfile(ratePerS, durationS, RAMP_S));
  const run = await runWatched(file, {
    window: { fromS: RAMP_S, toS: RAMP_S + durationS },
    progress,
    progressEvery: 10,
  });
  const o = run.outcomes;
  const signIns = o?.total.signin ?? 0;
  const approved = o?.byOutcome.signin.approved ?? 0;
  const others = Object.fromEntries(
    Object.entries(o?.byOutcome.signin ?? {}).filter(([k, n]) => k !== "approved" && n > 0),
  ) as Partial<Record<Outcome, number>>;
  const started = run.samples.startedInWindow.signin ?? 0;
  const achievedPerS = started / durationS;
  const approvedRatio = signIns > 0 ? approved / signIns : 0;
  const dropped = o?.dropped ?? run.fleet?.watch.dropped ?? 0;
  const generator = run.fleet?.generator;
  const failures = [
    ...(run.status === "completed" ? [] : [`run ${run.status}${run.error ? `: ${run.error}` : ""}`]),
    ...rateRuleFailures({
      ratePerS,
      achievedPerS,
      dropped,
      approvedRatio,
      generatorLimited: generator?.limited ?? false,
    }),
    ...(generator ? [] : ["no fleet facts in run.json"]),
  ];
  const latency = run.samples.latencyMs.signin;
  return {
    ratePerS,
    durationS,
    status: run.status,
    error: run.error,
    signIns,
    started,
    achievedPerS,
    approved,
    others,
    approvedRatio,
    dropped,
    generatorLimited: generator?.limited ?? true,
    generatorReasons: generator?.reasons.map((r) => r.text) ?? [],
    p50Ms: latency?.p50,
    p99Ms: latency?.p99,
    lagP99Ms: run.samples.lagMs.p99,
    lagP99WorstSecondMs: run.fleet?.watch.scheduleLagP99MaxMs,
    ...(run.fleet ? { segments: run.fleet.segments } : {}),
    ...(run.fleet?.threadPriority ? { threadPriority: run.fleet.threadPriority } : {}),
    cpu: cpuBreakdown(run),
    harnessPeakRssMiB: run.processes.find((p) => p.role === "harness")?.peakRssMiB ?? 0,
    passed: failures.length === 0,
    failures,
    loadAverageBefore: run.loadAverageBefore,
    loadAverageMax: run.loadAverageMax,
    machine: run.machine,
    runDir: run.runDir,
  };
}

export function describeStep(s: RateStep): string {
  const harness = per1000(s.cpu.harnessS, s.signIns).toFixed(2);
  return (
    `rate ${s.ratePerS}/s: ${s.status}, ${s.signIns} sign-ins (${s.achievedPerS.toFixed(1)}/s started), approved ` +
    `${(s.approvedRatio * 100).toFixed(2)}%, dropped ${s.dropped}, p99 ${s.p99Ms?.toFixed(1)} ms, lag p99 ` +
    `${s.lagP99Ms.toFixed(1)} ms, harness ${(s.cpu.harnessS / s.cpu.loadSeconds).toFixed(2)} cores (${harness} per ` +
    `1,000/s)${s.passed ? "" : ` FAILED: ${s.failures.join("; ")}`}`
  );
}

export interface RateFigure {
  steps: RateStep[];
  /** Highest passing rate (0 when none passed). */
  maxRatePerS: number;
}

/** A rate step as searchRate sees it. */
export interface SearchStep {
  passed: boolean;
  failures: string[];
}

/**
 * Doubles the rate from the first one until a step fails, then bisects the gap between the last pass and the
 * first failure `halvings` times (rates rounded to 50/s). A step that failed only because its generator was
 * limited (a stalled second) runs once more, and its second attempt decides: on a shared 2-core machine one
 * stalled second is enough to cross the bounds. `run` measures one attempt (and waits for a quiet machine).
 */
export async function searchRate<S extends SearchStep>(
  run: (rate: number, why: string, attempt: number) => Promise<S>,
  opts: { rates: number[]; halvings: number },
): Promise<{ steps: S[]; maxRatePerS: number }> {
  const steps: S[] = [];
  let lastPass = 0;
  let firstFail: number | undefined;
  const step = async (rate: number, why: string) => {
    const first = await run(rate, why, 1);
    steps.push(first);
    if (first.passed || first.failures.join() !== "generator-limited") return first.passed;
    const second = await run(rate, `${why}(again: generator-limited only) `, 2);
    steps.push(second);
    return second.passed;
  };
  for (const rate of opts.rates) {
    if (!(await step(rate, ""))) {
      firstFail = rate;
      break;
    }
    lastPass = rate;
  }
  for (let i = 0; i < opts.halvings && firstFail !== undefined; i++) {
    const rate = Math.round((lastPass + firstFail) / 2 / 50) * 50;
    if (rate <= lastPass || rate >= firstFail) break;
    if (await step(rate, `(between ${lastPass} and ${firstFail}) `)) lastPass = rate;
    else firstFail = rate;
  }
  return { steps, maxRatePerS: lastPass };
}

/** The rates searchRate starts from (doubling), as fleet-rate and node-open use them. */
export const SEARCH_RATES = [250, 500, 1000, 2000, 4000];

/**
 * Bisections after the first failed step: five take a 2,000/s gap down to 62.5/s (steps on 50/s), about 2 % of the
 * rates where fleet and client part, so a ratio of the two is known to a few hundredths, not to a tenth.
 */
export const SEARCH_HALVINGS = 5;

/** searchRate over open-model fleet runs (benchRateStep), one `posstorm run` per attempt. */
export async function benchFleetRate(
  opts: { rates?: number[]; durationS?: number; halvings?: number; progress?: (line: string) => void } = {},
): Promise<RateFigure> {
  const durationS = opts.durationS ?? 20;
  return searchRate(
    async (rate, why, attempt) => {
      const quiet = await waitForQuiet({ progress: opts.progress, timeoutMs: 60_000 });
      opts.progress?.(
        `rate ${rate}/s ${why}(load average ${loadavg()[0]!.toFixed(2)}, others ${quiet.toFixed(2)} cores) …`,
      );
      const s = await benchRateStep(rate, durationS);
      s.othersBefore = quiet;
      s.attempt = attempt;
      opts.progress?.(describeStep(s));
      return s;
    },
    { rates: opts.rates ?? SEARCH_RATES, halvings: opts.halvings ?? SEARCH_HALVINGS },
  );
}

/** One open-model run at `ratePerS` for `durationS` (default 1,000/s for 30 s). */
export async function benchOpen(
  opts: { ratePerS?: number; durationS?: number; progress?: (line: string) => void } = {},
): Promise<RateStep> {
  const rate = opts.ratePerS ?? 1000;
  const quiet = await waitForQuiet({ progress: opts.progress });
  const s = await benchRateStep(rate, opts.durationS ?? 30, opts.progress);
  s.othersBefore = quiet;
  opts.progress?.(describeStep(s));
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// The storm: a population profile end to end.

export interface StormFigure extends WatchedRun {
  terminals: number;
  /** Σ of the fleet workers' largest V8 heap / terminals, and the same less their heap at `ready`, KiB. */
  heapKiBPerTerminal?: number;
  heapGrowthKiBPerTerminal?: number;
  /**
   * Live memory: Σ over segments of (heap plus external memory after a full collection at the most terminals
   * alive − the same before the load) / Σ of those terminals (POSSTORM_FLEET_LIVE_HEAP=1,
   * harness/fleet/live-heap.ts), KiB; and that count.
   */
  liveHeapKiBPerTerminal?: number;
  liveTerminals?: number;
  /** The same readings' least-squares slope (what one more live terminal costs), mean over segments, KiB. */
  liveSlopeKiBPerTerminal?: number;
  /** Readings per segment behind the slope. */
  liveReadings?: number[];
  /** (Harness peak RSS − RSS before the run) / terminals, KiB: everything the run added to the process. */
  rssGrowthKiBPerTerminal?: number;
  /** The switch's own latency (request in → reply out) by MTI, from its final /metrics histogram. */
  switchLatencyMs: Record<string, { p50: number; p99: number }>;
}

/** Quantile of a Prometheus histogram (linear inside the bucket, as histogram_quantile does). */
export function histogramQuantile(buckets: { le: number; count: number }[], q: number): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total === 0) return 0;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return previous.le;
      const inBucket = bucket.count - previous.count;
      return previous.le + ((bucket.le - previous.le) * (rank - previous.count)) / Math.max(1, inBucket);
    }
    previous = bucket;
  }
  return previous.le;
}

/** p50 and p99 of `switch_latency_seconds` by MTI from a run's collected/switch.metrics.prom, ms. */
export function switchLatency(runDir: string): Record<string, { p50: number; p99: number }> {
  const byMti = new Map<string, { le: number; count: number }[]>();
  for (const line of readText(join(runDir, "collected", "switch.metrics.prom")).split("\n")) {
    const m = /^switch_latency_seconds_bucket\{mti="(\w+)",le="([^"]+)"\} (\S+)$/.exec(line);
    if (!m) continue;
    const list = byMti.get(m[1]!) ?? [];
    list.push({ le: m[2] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[2]), count: Number(m[3]) });
    byMti.set(m[1]!, list);
  }
  return Object.fromEntries(
    [...byMti].map(([mti, buckets]) => [
      mti,
      { p50: histogramQuantile(buckets, 0.5) * 1000, p99: histogramQuantile(buckets, 0.99) * 1000 },
    ]),
  );
}

/** Runs a population profile (default morning-signin-storm) end to end with its programs watched. */
export async function benchStorm(
  opts: { profile?: string; progress?: (line: string) => void } = {},
): Promise<StormFigure> {
  const profile = opts.profile ?? "morning-signin-storm";
  // Every operation counts as started (a population run has no arrival window to cut at).
  const window = { fromS: 0, toS: Number.POSITIVE_INFINITY };
  process.env.POSSTORM_FLEET_LIVE_HEAP = "1";
  const run = await runWatched(profile, { window, progress: opts.progress, progressEvery: 30 }).finally(
    () => {
      delete process.env.POSSTORM_FLEET_LIVE_HEAP;
    },
  );
  const live = run.threads.threads.flatMap((t) => (t.report?.liveHeap ? [t.report.liveHeap] : []));
  const liveTerminals = live.reduce((n, l) => n + l.terminals, 0);
  const liveBytes = live.reduce((n, l) => n + (l.bytes - l.baselineBytes), 0);
  const slopes = live.flatMap((l) => {
    const slope = bytesPerTerminalSlope(l.readings);
    return slope === undefined ? [] : [slope];
  });
  const plan = JSON.parse(readText(runFile(run.runDir, "plan")) || "{}") as {
    fleet?: { terminals?: number };
  };
  const terminals = plan.fleet?.terminals ?? 0;
  const harness = run.processesWholeRun.find((p) => p.role === "harness");
  const kib = (bytes: number) => (terminals > 0 ? bytes / 1024 / terminals : undefined);
  return {
    ...run,
    terminals,
    heapKiBPerTerminal: kib(run.threads.heapPeakBytes),
    heapGrowthKiBPerTerminal: kib(run.threads.heapPeakBytes - run.threads.readyHeapBytes),
    ...(liveTerminals > 0 ? { liveHeapKiBPerTerminal: liveBytes / 1024 / liveTerminals, liveTerminals } : {}),
    ...(slopes.length > 0
      ? {
          liveSlopeKiBPerTerminal: slopes.reduce((a, b) => a + b, 0) / slopes.length / 1024,
          liveReadings: live.map((l) => l.readings.length),
        }
      : {}),
    rssGrowthKiBPerTerminal: harness
      ? kib((harness.peakRssMiB - run.harnessRssBeforeMiB) * 2 ** 20)
      : undefined,
    switchLatencyMs: switchLatency(run.runDir),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const which = process.argv[2] ?? "rate";
  const progress = (line: string) => console.error(line);
  const figure =
    which === "storm"
      ? await benchStorm({ progress })
      : which === "open"
        ? await benchOpen({ ratePerS: Number(process.argv[3] ?? 1000), progress })
        : await benchFleetRate({ progress });
  console.log(JSON.stringify(figure, null, 2));
}
