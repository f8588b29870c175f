import { availableParallelism } from "node:os";
import { type AgentConnection, type AgentFacts, assignSegments } from "./agents/remote.ts";
import { defaultSegments, maxSegments } from "./arrivals.ts";
import type { FleetControl } from "./conditions.ts";
import { type Counts, type TimeoutCounts, timeoutsOf } from "./counts.ts";
import {
  GENERATOR_BOUNDS,
  type GeneratorBounds,
  type GeneratorVerdict,
  judgeGenerator,
} from "./generator-limits.ts";
import { percentileOf } from "./histogram.ts";
import { FleetMerger, type LatencySummary, type MergedSecond } from "./merge.ts";
import type { Operation, Outcome, RunPlan } from "./plan.ts";
import { type RunPlanInput, resolvePlan } from "./plan-check.ts";
import { parseSampleLines, type Sample } from "./samples.ts";
import { openSamplesFile, type SamplesFile, type SamplesFileStats } from "./samples-file.ts";
import { type HostEvents, inProcessHost, type SegmentHost, workerHost } from "./segment-host.ts";
import type { SegmentMessage, SegmentReport, WatchSecond } from "./wire.ts";

// runFleet: the plan's fleet split into segments (worker threads by default), started together at one load
// start, their per-second data merged as it comes, their raw samples streamed into a gzip file; the run ends
// by itself (no operation starts after durationS; those in flight end on their own timers), on abort, or on
// the first segment failure. The gzip is complete in every case.

/** Time between every segment ready and the load start, ms: each gets `start` before its first arrival. */
const START_LEAD_MS = 100;
/** Longest wait for onStart's promise before the segments start anyway, ms. */
const ON_START_LIMIT_MS = 30_000;
/** Wait for a worker to load its modules, ms. */
const READY_TIMEOUT_MS = 30_000;
/** After an abort: wait for a segment's last data before its thread is ended, ms. */
const ABORT_GRACE_MS = 1_000;
/** onSecond cadence, ms. */
const EMIT_EVERY_MS = 1_000;

export interface FleetOptions {
  /** The run plan (terminal settings may be partial: defaults are filled in and the plan is checked). */
  plan: RunPlanInput;
  /** Where the raw samples go: gzipped NDJSON (e.g. `<run dir>/samples.ndjson.gz`), created or truncated. */
  samplesFile: string;
  /**
   * Segments, at most one per terminal and per maxVUs (default: one per 3,000 operations/s of the plan's peak,
   * or one per 512 loops of the closed model, at most os.availableParallelism(): arrivals.ts defaultSegments).
   */
  segments?: number;
  /** Run the segments in this thread instead of worker threads (tests, tiny runs). */
  inProcess?: boolean;
  /** Aborting stops every segment now; runFleet then resolves with `aborted: true`. */
  signal?: AbortSignal;
  /** Merged counts and histograms per intended second, about once a second (see MergedSecond). */
  onSecond?: (second: MergedSecond) => void;
  /**
   * Called once, with the load start (ms since the epoch), before the segments get it: the moment the first
   * arrival is due. A run starts its fault timeline and its aggregation here. When it returns a promise, the
   * segments start once it settles (at most ON_START_LIMIT_MS): faults due at 0 are then in place before the
   * first terminal connects, and arrivals held back meanwhile start late, which their schedule lag records.
   */
  onStart?: (startAtMs: number) => undefined | Promise<unknown>;
  /** Every raw record, in arrival order (the report's aggregator consumes these). */
  onSample?: (sample: Sample) => void;
  /** The terminals' first failure of each kind, one line each (default: stderr). */
  log?: (line: string) => void;
  /** When the generator counts as the bottleneck (default GENERATOR_BOUNDS). */
  bounds?: GeneratorBounds;
  /** Fleet-side faults (power loss) the run's chaos context sets while the load goes. */
  control?: FleetControl;
  /** Worker entry (tests only; default ./worker.ts). */
  workerEntry?: URL;
  /**
   * Agents already connected (agents/remote.ts): the segments run on them instead of this process's threads,
   * as many as they offer (`segments` is then ignored). runFleet closes them when it ends.
   */
  agents?: AgentConnection[];
}

export interface FleetResult {
  /** True when `signal` aborted the run: the figures cover what was received until then. */
  aborted: boolean;
  plan: RunPlan;
  segments: number;
  inProcess: boolean;
  /** Load start and end, ms since the epoch. */
  startAtMs: number;
  endedAtMs: number;
  /** Everything counted: ops by op/outcome/code, retries, skipped, reversals, sessions, unsettled, dropped. */
  totals: Counts;
  timeouts: TimeoutCounts;
  /** Intended start → outcome, whole ms, from the merged histograms. */
  latencyMs: Partial<Record<Operation, Partial<Record<Outcome, LatencySummary>>>>;
  /** Every segment's self-watch, per second. */
  selfWatch: WatchSecond[];
  generatorLimited: GeneratorVerdict;
  samples: SamplesFileStats;
  segmentReports: SegmentReport[];
  /** TCP connections the terminals of every segment opened. */
  socketsOpened: number;
  /** CPU of the whole process from load start to the end, ms (workers, coordinator and anything else in it). */
  processCpuMs: { user: number; system: number };
  /** The agents that ran the segments, when there were agents. */
  agents?: AgentFacts[];
}

export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  try {
    return await fleetRun(options);
  } finally {
    // The agents are let go however the run ends (their segments stop when their coordinator goes).
    for (const agent of options.agents ?? []) agent.close();
  }
}

async function fleetRun(options: FleetOptions): Promise<FleetResult> {
  const plan = resolvePlan(options.plan);
  const fleet = plan.fleet;
  const limit = maxSegments(fleet, plan.terminal.count);
  const agents = options.agents ?? [];
  if (agents.length > limit) {
    throw new Error(
      `runFleet: ${agents.length} agents, but this plan splits into at most ${limit} segment(s)`,
    );
  }
  const requested =
    agents.length > 0
      ? agents.reduce((n, a) => n + a.offered, 0)
      : (options.segments ?? defaultSegments(fleet, availableParallelism()));
  if (!Number.isInteger(requested) || requested < 1) {
    throw new Error(`runFleet: segments must be a whole number >= 1, got ${requested}`);
  }
  const count = Math.min(requested, limit);
  const inProcess = options.inProcess ?? false;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const file = await openSamplesFile(options.samplesFile);
  const merger = new FleetMerger(options.onSecond !== undefined);
  const reports: SegmentReport[] = [];

  let failure: Error | undefined;
  let settle: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const fail = (error: Error) => {
    failure ??= error;
    settle();
  };
  const emit = () => {
    if (options.onSecond === undefined) return;
    for (const second of merger.takeSeconds()) guard("onSecond", () => options.onSecond!(second), fail);
  };
  const events: HostEvents = {
    onMessage: (message) => handle(message),
    onFailure: (_index, error) => fail(error),
  };
  const handle = (message: SegmentMessage) => {
    switch (message.type) {
      case "samples":
        deliverSamples(file, message.lines, message.count, options.onSample, fail);
        break;
      case "tick":
        merger.addTick(message.seconds, message.watch);
        break;
      case "log":
        log(`[segment ${message.segment}] ${message.line}`);
        break;
      case "done":
        reports.push(message.report);
        if (reports.length === count) settle();
        break;
    }
  };

  const hosts: SegmentHost[] = [];
  let aborted = options.signal?.aborted ?? false;
  const onAbort = () => {
    aborted = true;
    settle();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let startAtMs = Date.now();
  let cpuStart = process.cpuUsage();
  let emitTimer: NodeJS.Timeout | undefined;
  let started = false;
  let samples: SamplesFileStats | undefined;
  let unsubscribe: (() => void) | undefined;
  try {
    if (agents.length > 0) {
      const shares = assignSegments(
        agents.map((a) => a.offered),
        count,
      );
      for (const [a, agent] of agents.entries())
        hosts.push(...agent.hostsFor(plan, shares[a]!, count, events));
    } else {
      for (let i = 0; i < count; i++) {
        hosts.push(
          inProcess ? inProcessHost(i, count, events) : workerHost(i, count, events, options.workerEntry),
        );
      }
    }
    await Promise.race([allReady(hosts), finished]);
    // Fleet-side faults reach every segment from here on (those due at 0 before the start message).
    unsubscribe = options.control?.subscribe((conditions) => {
      for (const host of hosts) host.setConditions(conditions);
    });
    if (failure === undefined && !aborted) {
      startAtMs = Date.now() + START_LEAD_MS;
      cpuStart = process.cpuUsage();
      let ready: undefined | Promise<unknown>;
      guard(
        "onStart",
        () => {
          ready = options.onStart?.(startAtMs);
        },
        fail,
      );
      if (ready !== undefined) {
        await waitAtMost(ready, ON_START_LIMIT_MS, "onStart").catch((error: unknown) =>
          fail(error instanceof Error ? error : new Error(String(error))),
        );
      }
      for (const host of hosts) host.start({ plan, segment: { index: host.index, count }, startAtMs });
      started = true;
      emitTimer = setInterval(emit, EMIT_EVERY_MS);
      await finished;
    }
  } catch (error) {
    fail(error instanceof Error ? error : new Error(String(error)));
  } finally {
    unsubscribe?.();
    clearInterval(emitTimer);
    options.signal?.removeEventListener("abort", onAbort);
    if (started && reports.length < hosts.length) {
      await stopAll(hosts, () => failure !== undefined || reports.length === hosts.length);
    }
    await Promise.all(hosts.map((h) => h.terminate()));
    emit();
    samples = await file.close().catch((error: Error) => {
      fail(error);
      return undefined;
    });
  }
  if (failure !== undefined || samples === undefined) throw failure;
  const cpu = process.cpuUsage(cpuStart);
  const selfWatch = merger.watchSeconds();
  return {
    aborted,
    plan,
    segments: count,
    inProcess,
    startAtMs,
    endedAtMs: Date.now(),
    totals: merger.totals,
    timeouts: timeoutsOf(merger.totals),
    latencyMs: merger.latencySummary(),
    selfWatch,
    generatorLimited: judgeGenerator(
      selfWatch,
      {
        starts: merger.scheduleLagUs.totalCount,
        p99Ms: usToMs(percentileOf(merger.scheduleLagUs, 99)),
        maxMs: merger.scheduleLagUs.totalCount > 0 ? usToMs(merger.scheduleLagUs.maxValue) : null,
      },
      options.bounds ?? GENERATOR_BOUNDS,
    ),
    samples,
    segmentReports: reports.sort((a, b) => a.segment - b.segment),
    socketsOpened: reports.reduce((sum, r) => sum + r.socketsOpened, 0),
    processCpuMs: { user: Math.round(cpu.user / 1000), system: Math.round(cpu.system / 1000) },
    ...(agents.length > 0 ? { agents: agents.map((a) => a.facts()) } : {}),
  };
}

/** `work`, or an Error naming `what` once `limitMs` has passed. */
async function waitAtMost(work: Promise<unknown>, limitMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`runFleet: ${what} not settled after ${limitMs}ms`)),
          limitMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const usToMs = (us: number | null) => (us === null ? null : Math.round(us) / 1000);

/** Every host ready, or an Error naming the first that is not within READY_TIMEOUT_MS. */
async function allReady(hosts: SegmentHost[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`fleet segments not ready within ${READY_TIMEOUT_MS}ms (worker threads loading)`));
    }, READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([Promise.all(hosts.map((h) => h.ready)), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Aborts every segment and waits up to ABORT_GRACE_MS for their last data (`allDone`). */
async function stopAll(hosts: SegmentHost[], allDone: () => boolean): Promise<void> {
  for (const host of hosts) host.abort();
  const deadline = Date.now() + ABORT_GRACE_MS;
  while (!allDone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

function deliverSamples(
  file: SamplesFile,
  lines: string,
  count: number,
  onSample: ((sample: Sample) => void) | undefined,
  fail: (error: Error) => void,
): void {
  file.write(lines, count);
  if (onSample === undefined) return;
  guard(
    "onSample",
    () => {
      for (const sample of parseSampleLines(lines)) onSample(sample);
    },
    fail,
  );
}

/** Runs a caller's callback; what it throws fails the run, naming the callback. */
function guard(name: string, callback: () => void, fail: (error: Error) => void): void {
  try {
    callback();
  } catch (error) {
    fail(
      new Error(`runFleet: ${name} threw: ${(error as Error)?.message ?? String(error)}`, { cause: error }),
    );
  }
}
