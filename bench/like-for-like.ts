import { createReadStream, mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { startLab } from "../harness/lab/lab.ts";
import { SAMPLES_FILE } from "../harness/report/index.ts";
import { per1000, rateProfile, SEARCH_HALVINGS, SEARCH_RATES, searchRate } from "./fleet.bench.ts";
import { harnessSplit, runWatched, writeTempProfile } from "./fleet-run.ts";
import { type ClosedStepsOptions, runJsonChild } from "./node-ceiling.ts";
import { type OpenClientOptions, type OpenClientResult, openClientFailures } from "./node-open.ts";
import { ProcessWatch, waitForQuiet } from "./process-watch.ts";
import { percentile } from "./stats.ts";

// The fleet against the minimal Node client, like with like, in both forms:
// - closed loops at the same concurrency: the fleet's closed model (`model: "closed"`, `vus` loops of sign-ins
//   back to back) against node-ceiling.ts's closed loops, each counted over the same window after a warm-up;
// - the open model under one pass rule: the client driven by arrivals (node-open.ts) searched with the same
//   rates, pass rule and second attempt as fleet-rate (fleet.bench.ts searchRate).

export interface ClosedStep {
  concurrency: number;
  status: string;
  error?: string;
  /** Sign-ins ending inside the counted window (after the warm-up), per second of it. */
  signIns: number;
  perSecond: number;
  approvedRatio: number;
  p50Ms: number;
  p99Ms: number;
  /** The harness process (fleet worker threads, coordinator, aggregator …) over the load, cores. */
  harnessCores: number;
  /** CPU seconds per 1,000 sign-ins over the whole load: the harness process and its fleet worker threads. */
  harnessPer1000: number;
  workersPer1000: number;
  generatorLimited: boolean;
  runDir: string;
}

/** Sign-ins ending in [fromMs, toMs) of a run's samples: how many, how many approved, their latency. */
export async function closedWindow(runDir: string, fromMs: number, toMs: number) {
  const ms: number[] = [];
  let approved = 0;
  const lines = createInterface({ input: createReadStream(join(runDir, SAMPLES_FILE)).pipe(createGunzip()) });
  for await (const line of lines) {
    if (line === "" || line.includes('"ev":')) continue;
    const s = JSON.parse(line) as { t: number; op: string; ms: number; outcome: string };
    if (s.op !== "signin" || s.t + s.ms < fromMs || s.t + s.ms >= toMs) continue;
    ms.push(s.ms);
    if (s.outcome === "approved") approved++;
  }
  ms.sort((a, b) => a - b);
  return { signIns: ms.length, approved, p50Ms: percentile(ms, 0.5), p99Ms: percentile(ms, 0.99) };
}

/** The fleet's closed model at each concurrency: `seconds` counted after `warmupS`, one `posstorm run` each. */
export async function benchFleetClosed(opts: ClosedStepsOptions = {}): Promise<ClosedStep[]> {
  const seconds = opts.seconds ?? 10;
  const warmupS = opts.warmupS ?? 1;
  const steps: ClosedStep[] = [];
  for (const concurrency of opts.concurrencies ?? [1, 4, 16, 64, 128, 256]) {
    await waitForQuiet({ progress: opts.progress, timeoutMs: 60_000 });
    const durationS = warmupS + seconds;
    const profile = {
      ...rateProfile(1, durationS),
      name: `bench-closed-${concurrency}`,
      description: `closed model, ${concurrency} loops of sign-ins for ${durationS} s`,
      fleet: { model: "closed", operation: "signin", vus: concurrency, terminals: 10_000 },
    };
    const run = await runWatched(writeTempProfile(`closed-${concurrency}`, profile), {
      window: { fromS: 0, toS: durationS },
    });
    const w = await closedWindow(run.runDir, warmupS * 1000, durationS * 1000);
    const all = run.outcomes?.total.signin ?? 0;
    const split = harnessSplit(run);
    const step: ClosedStep = {
      concurrency,
      status: run.status,
      error: run.error,
      signIns: w.signIns,
      perSecond: w.signIns / seconds,
      approvedRatio: w.signIns > 0 ? w.approved / w.signIns : 0,
      p50Ms: w.p50Ms,
      p99Ms: w.p99Ms,
      harnessCores: split.harnessS / run.loadSeconds,
      harnessPer1000: per1000(split.harnessS, all),
      workersPer1000: per1000(split.workersS, all),
      generatorLimited: run.fleet?.generator.limited ?? true,
      runDir: run.runDir,
    };
    steps.push(step);
    opts.progress?.(
      `fleet closed, concurrency ${concurrency}: ${step.perSecond.toFixed(0)} sign-ins/s, approved ` +
        `${(step.approvedRatio * 100).toFixed(2)}%, p99 ${step.p99Ms.toFixed(1)} ms, harness ` +
        `${step.harnessCores.toFixed(2)} cores (${step.harnessPer1000.toFixed(3)} per 1,000/s)`,
    );
  }
  return steps;
}

export interface NodeOpenStep {
  ratePerS: number;
  durationS: number;
  attempt: number;
  result: OpenClientResult;
  achievedPerS: number;
  approvedRatio: number;
  clientCores: number;
  clientPer1000: number;
  /** The machine's busy cores just before the step, and during it. */
  othersBefore: number;
  machine: { busyCores: number; otherCores: number };
  passed: boolean;
  failures: string[];
}

export interface NodeOpenFigure {
  steps: NodeOpenStep[];
  maxRatePerS: number;
  loadAverageBefore: number;
  loadAverageMax: number;
}

const OPEN_CLIENT = fileURLToPath(new URL("./node-open.ts", import.meta.url));

const runOpenClient = (opts: OpenClientOptions, watch: ProcessWatch) =>
  runJsonChild<OpenClientResult>(OPEN_CLIENT, [JSON.stringify(opts)], watch, opts.seconds + 60);

/**
 * The minimal client as an open model, searched as fleet-rate searches the fleet (same rates, pass rule,
 * second attempt, maxVUs one second's worth of arrivals, 10,000 TIDs), against one containers lab.
 */
export async function benchNodeOpen(
  opts: { durationS?: number; halvings?: number; progress?: (line: string) => void } = {},
): Promise<NodeOpenFigure> {
  const durationS = opts.durationS ?? 20;
  const loadAverageBefore = loadavg()[0]!;
  const runDir = mkdtempSync(join(tmpdir(), "posstorm-bench-node-open-"));
  const lab = await startLab({ runtime: "containers", runDir, session: `bench-node-open-${Date.now()}` });
  const watch = new ProcessWatch({ labDir: runDir });
  try {
    await new Promise((r) => setTimeout(r, 500)); // issuer and HSM links up
    const { steps, maxRatePerS } = await searchRate(
      async (rate, why, attempt): Promise<NodeOpenStep> => {
        const othersBefore = await waitForQuiet({ progress: opts.progress, timeoutMs: 60_000 });
        opts.progress?.(`node open ${rate}/s ${why}…`);
        const maxVUs = Math.max(50, rate);
        const r = await runOpenClient(
          { ...lab.edge, ratePerS: rate, seconds: durationS, maxVUs, terminals: 10_000 },
          watch,
        );
        watch.tick();
        const elapsed = (r.endMs - r.startMs) / 1000;
        const failures = openClientFailures(r, rate, durationS);
        const step: NodeOpenStep = {
          ratePerS: rate,
          durationS,
          attempt,
          result: r,
          achievedPerS: r.signIns / durationS,
          approvedRatio: r.signIns > 0 ? r.approved / r.signIns : 0,
          clientCores: r.cpuSeconds / elapsed,
          clientPer1000: per1000(r.cpuSeconds, r.signIns),
          othersBefore,
          machine: watch.machine({ startMs: r.startMs, endMs: r.endMs }),
          passed: failures.length === 0,
          failures,
        };
        opts.progress?.(
          `node open ${rate}/s: ${step.achievedPerS.toFixed(1)}/s, dropped ${r.dropped}, approved ` +
            `${(step.approvedRatio * 100).toFixed(2)}%, p99 ${r.p99Ms.toFixed(1)} ms, lag p99 ${r.lagP99Ms.toFixed(1)} ms, ` +
            `loop delay p99 worst ${r.loopDelayP99MaxMs.toFixed(1)} ms, client ${step.clientCores.toFixed(2)} cores` +
            `${step.passed ? "" : ` FAILED: ${failures.join("; ")}`}`,
        );
        return step;
      },
      { rates: SEARCH_RATES, halvings: opts.halvings ?? SEARCH_HALVINGS },
    );
    return { steps, maxRatePerS, loadAverageBefore, loadAverageMax: watch.loadAverageMax };
  } finally {
    watch.stop();
    await lab.stop();
  }
}
