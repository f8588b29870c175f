import type { FleetConditions } from "./conditions.ts";
import type { Counts } from "./counts.ts";
import type { LiveHeap } from "./live-heap.ts";
import type { Operation, Outcome, RunPlan } from "./plan.ts";
import type { ThreadPriority } from "./thread-priority.ts";

// What a segment and the coordinator say to each other: plain data (structured-clonable), the same whether
// the segment runs in a worker thread, in the coordinator's thread, or (later) on another host.

/** Which slice of the fleet a segment runs: terminal i and open-model arrival k belong to segment (i|k) mod count. */
export interface SegmentSlice {
  /** 0-based. */
  index: number;
  count: number;
}

/** A segment's whole input. */
export interface SegmentInput {
  /** The resolved plan (terminal defaults filled in). */
  plan: RunPlan;
  segment: SegmentSlice;
  /** Load start, ms since the epoch, the same for every segment: second 0 and the schedules begin there. */
  startAtMs: number;
}

/** Counts and latency histograms of operations whose intended start falls in one second (a delta). */
export interface WireSecond {
  /** Seconds since load start: second s holds intended starts in [s, s + 1) s. */
  second: number;
  counts: Counts;
  /** Intended start → outcome, whole ms, HdrHistogram compressed base64 per op and outcome. */
  latency: { op: Operation; outcome: Outcome; histogram: string }[];
}

/** How one segment's thread fared during one second of wall time (self-watch). */
export interface WatchSecond {
  /** Seconds since load start (wall clock): [second, second + 1). */
  second: number;
  segment: number;
  /**
   * Event-loop delay, ms: how late a 10 ms sampling timer ran (perf_hooks.monitorEventLoopDelay minus its
   * resolution), p99 and max over the second; null without samples.
   */
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
  /** Event-loop utilisation over the second, 0–1 (performance.eventLoopUtilization). */
  utilisation: number;
  /** Scheduled starts begun in the second (population sign-ins and purchases, open-model arrivals). */
  starts: number;
  /** Their lateness, actual − intended start, ms (0.001 ms resolution); null without starts. */
  scheduleLagP99Ms: number | null;
  scheduleLagMaxMs: number | null;
  /** The second's lateness histogram (µs, HdrHistogram compressed base64), merged into the run's; null without starts. */
  scheduleLagUs: string | null;
  /** Open-model arrivals dropped (no free terminal). */
  dropped: number;
  /** Most terminals busy at once (open model: arrivals in progress; population: terminals in their chain). */
  busyMax: number;
}

/** What a segment reports when it ends. */
export interface SegmentReport {
  segment: number;
  aborted: boolean;
  /** Terminals the segment created (each one at most once). */
  terminals: number;
  /** TCP connections its terminals opened: one per exchange on short links, one per (re)connect on long ones. */
  socketsOpened: number;
  /** CPU time of the segment's thread (process.threadCpuUsage), ms. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** The worker thread's scheduling (thread-priority.ts: SCHED_FIFO 1 where permitted); absent in-process. */
  priority?: ThreadPriority;
  /** Largest V8 heap in use in the segment's thread, sampled once a second, bytes. */
  heapUsedMaxBytes: number;
  /** With POSSTORM_FLEET_LIVE_HEAP=1 (benchmarks): the heap after a full collection, at the most terminals alive. */
  liveHeap?: LiveHeap;
}

export type SegmentMessage =
  | { type: "ready"; segment: number }
  | { type: "samples"; segment: number; lines: string; count: number }
  | { type: "tick"; segment: number; seconds: WireSecond[]; watch: WatchSecond | undefined }
  | { type: "log"; segment: number; line: string }
  | { type: "done"; segment: number; report: SegmentReport }
  | { type: "error"; segment: number; message: string; stack?: string };

export type CoordinatorMessage =
  | { type: "start"; input: SegmentInput }
  | { type: "abort" }
  /** The fleet's conditions now (conditions.ts): sent at start and on every change. */
  | { type: "conditions"; conditions: FleetConditions };
