import { createReadStream, mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import type { OutcomeCounts } from "../harness/fleet/index.ts";
import type { Operation } from "../harness/fleet/plan.ts";
import { SAMPLES_FILE } from "../harness/report/index.ts";
import { type RunOptions, runProfile } from "../harness/run/run-profile.ts";
import { type FleetFacts, type RunJson, runFile } from "../harness/run-folder/index.ts";
import { REPO_ROOT } from "../harness/shared/repo.ts";
import { type FleetThreadFigures, FleetThreads } from "./fleet-threads.ts";
import { type ProcessFigure, ProcessWatch, readText } from "./process-watch.ts";
import { percentile } from "./stats.ts";

// One profile run end to end as `posstorm run` runs it (runProfile, in this process, so the fleet's worker
// threads are threads of this process), with every program watched (process-watch.ts) and the fleet's threads
// observed (fleet-threads.ts); then the run folder's figures: run.json (status, outcomes, the fleet's facts and
// generator verdict) and the raw samples (latency from intended start, schedule lag).

export type { FleetFacts };

/** Percentiles of a list of ms values. */
export interface Spread {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** From samples.ndjson.gz: per operation (every outcome) its latency and the schedule lag of its start. */
export interface SampleFigures {
  latencyMs: Partial<Record<Operation, Spread>>;
  /** Lag of scheduled starts (operations with lag > 0 or a start of their own: every operation sample). */
  lagMs: Spread;
  /** Operation samples whose intended start falls in the window [fromS, toS). */
  startedInWindow: Partial<Record<Operation, number>>;
}

export interface WatchedRun {
  profile: string;
  status: string;
  error?: string;
  runDir: string;
  outcomes?: OutcomeCounts;
  fleet?: FleetFacts;
  threads: FleetThreadFigures;
  samples: SampleFigures;
  /** Whole run (runProfile called → returned) and load (load start → last segment done), seconds. */
  runSeconds: number;
  loadSeconds: number;
  /** Per role over the load. */
  processes: ProcessFigure[];
  /** Per role from its first to its last sample (lab up → lab down for the lab, the whole run for the rest). */
  processesWholeRun: ProcessFigure[];
  /** The harness process's resident set before runProfile and at its peak (VmHWM), MiB. */
  harnessRssBeforeMiB: number;
  loadAverageBefore: number;
  loadAverageAfter: number;
  loadAverageMax: number;
  /** The machine's busy cores during the load, and the part no watched process accounts for. */
  machine: { busyCores: number; otherCores: number };
}

const spread = (values: number[]): Spread => {
  values.sort((a, b) => a - b);
  return {
    count: values.length,
    p50: percentile(values, 0.5),
    p99: percentile(values, 0.99),
    max: values.at(-1) ?? 0,
  };
};

/** Seconds since load start: the intended starts a rate is counted over. */
export interface StartWindow {
  fromS: number;
  toS: number;
}

/** Streams a run's samples.ndjson.gz into latency and lag spreads. */
export async function readSamples(runDir: string, window: StartWindow): Promise<SampleFigures> {
  const latency = new Map<Operation, number[]>();
  const lag: number[] = [];
  const started: Partial<Record<Operation, number>> = {};
  const lines = createInterface({ input: createReadStream(join(runDir, SAMPLES_FILE)).pipe(createGunzip()) });
  for await (const line of lines) {
    if (line === "" || line.includes('"ev":')) continue;
    const s = JSON.parse(line) as { t: number; op: Operation; ms: number; lag: number };
    const list = latency.get(s.op) ?? [];
    list.push(s.ms);
    latency.set(s.op, list);
    lag.push(s.lag);
    if (s.t >= window.fromS * 1000 && s.t < window.toS * 1000) started[s.op] = (started[s.op] ?? 0) + 1;
  }
  return {
    latencyMs: Object.fromEntries([...latency].map(([op, list]) => [op, spread(list)])),
    lagMs: spread(lag),
    startedInWindow: started,
  };
}

/** Writes a profile as a TypeScript file in a fresh folder under the temporary directory. */
export function writeTempProfile(name: string, profile: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), `posstorm-bench-${name}-`));
  const file = join(dir, `${name}.ts`);
  const define = JSON.stringify(join(REPO_ROOT, "harness/profile/define.ts"));
  writeFileSync(
    file,
    `import { defineProfile } from ${define};\nexport default defineProfile(${JSON.stringify(profile, null, 2)} as never);\n`,
  );
  return file;
}

const rssMiB = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readText("/proc/self/status"))?.[1] ?? 0) / 1024;

export async function runWatched(
  profile: string,
  opts: {
    /** Where the achieved rate is counted (SampleFigures.startedInWindow). */
    window: StartWindow;
    progress?: (line: string) => void;
    progressEvery?: number;
    /** More of runProfile's options (agents …). */
    run?: Partial<RunOptions>;
  },
): Promise<WatchedRun> {
  const reportsDir = mkdtempSync(join(tmpdir(), "posstorm-bench-run-"));
  const loadAverageBefore = loadavg()[0]!;
  const harnessRssBeforeMiB = rssMiB();
  const watch = new ProcessWatch({ labDir: reportsDir });
  const observer = new FleetThreads();
  const log: string[] = [];
  let lines = 0;
  const t0 = Date.now();
  let outcome: Awaited<ReturnType<typeof runProfile>>;
  let threads: FleetThreadFigures;
  try {
    outcome = await runProfile({
      ...opts.run,
      profile,
      reportsDir,
      live: true,
      log: (line) => {
        log.push(line);
        const every = opts.progressEvery ?? 0;
        if (opts.progress && (every <= 1 || !/^\s*\d+s\//.test(line) || lines++ % every === 0))
          opts.progress(line);
      },
    });
  } finally {
    watch.tick();
    watch.stop();
    threads = observer.stop();
  }
  const runSeconds = (Date.now() - t0) / 1000;
  writeFileSync(join(outcome.runDir, "bench.log"), `${log.join("\n")}\n`);
  const run = JSON.parse(readText(runFile(outcome.runDir, "run")) || "{}") as RunJson;
  if (!run.loadStartedAt)
    throw new Error(`${profile}: the load never started (${run.error ?? outcome.error ?? run.status})`);
  const loadStart = Date.parse(run.loadStartedAt);
  const loadEnd = threads.lastDoneAtMs ?? Date.parse(run.endedAt ?? new Date().toISOString());
  const window = { startMs: loadStart, endMs: loadEnd };
  return {
    profile,
    status: run.status ?? "unknown",
    error: run.error ?? outcome.error,
    runDir: outcome.runDir,
    outcomes: run.outcomes,
    fleet: run.fleet,
    threads,
    samples: await readSamples(outcome.runDir, opts.window),
    runSeconds,
    loadSeconds: (loadEnd - loadStart) / 1000,
    processes: watch.figures(window),
    processesWholeRun: watch.figures(),
    harnessRssBeforeMiB,
    loadAverageBefore,
    loadAverageAfter: loadavg()[0]!,
    loadAverageMax: watch.loadAverageMax,
    machine: watch.machine(window),
  };
}

/** The harness process's CPU over the load, and the fleet's worker threads' part of it, seconds. */
export function harnessSplit(run: WatchedRun): { harnessS: number; workersS: number; otherS: number } {
  const fromRunJson = run.fleet ? (run.fleet.cpu.userMs + run.fleet.cpu.systemMs) / 1000 : undefined;
  const harnessS =
    fromRunJson ?? run.processes.find((p) => p.role === "harness")?.windowCpuSeconds ?? Number.NaN;
  return { harnessS, workersS: run.threads.cpuSeconds, otherS: harnessS - run.threads.cpuSeconds };
}
