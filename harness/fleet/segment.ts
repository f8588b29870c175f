import { fromHex, tmkLookup } from "../protocol/index.ts";
import { nowMs } from "./clock.ts";
import { runClosed } from "./closed.ts";
import { type FleetConditions, NO_CONDITIONS } from "./conditions.ts";
import type { FleetContext } from "./context.ts";
import { LiveHeapMeter, liveHeapWanted } from "./live-heap.ts";
import { runOpen } from "./open.ts";
import { runPopulation } from "./population.ts";
import { type ModelRuntime, sleepUntil } from "./runtime.ts";
import { softwareOf, tidOf } from "./schedule.ts";
import { SegmentRecorder } from "./segment-recorder.ts";
import { ThreadWatch } from "./self-watch.ts";
import { framingOf, Terminal } from "./terminal.ts";
import { readTerminalKeys } from "./terminal-keys.ts";
import type { SegmentInput, SegmentMessage, SegmentReport } from "./wire.ts";

// One segment of the fleet: its striped share of terminals and arrivals, run from plain input to plain
// output. It waits for the common load start, runs the plan's load model, and posts raw samples every
// SAMPLE_BATCH_MS and per-second counts, histograms and self-watch once a second (aligned on load start),
// then one last batch. The same code runs in a worker thread (worker.ts) or in the coordinator's thread.

/** How often raw samples are sent, ms (a divisor of 1000: every fourth batch closes a second). */
export const SAMPLE_BATCH_MS = 250;

/**
 * Runs the segment until its load model ends (or `signal` aborts it), posting as it goes. Resolves with the
 * segment's report; the caller posts it as `done`. Rejects on a fault of the engine itself.
 */
export async function runSegment(
  input: SegmentInput,
  post: (message: SegmentMessage) => void,
  signal?: AbortSignal,
  conditions: { readonly current: FleetConditions } = { current: NO_CONDITIONS },
): Promise<SegmentReport> {
  const { plan, segment: slice, startAtMs } = input;
  const index = slice.index;
  const cpuStart = process.threadCpuUsage();
  const recorder = new SegmentRecorder(index, startAtMs, (line) =>
    post({ type: "log", segment: index, line }),
  );
  // Every pending timer with the function it calls: an abort calls them all at once.
  const sleeping = new Map<NodeJS.Timeout, () => void>();
  let aborted = false;
  const timer = (ms: number, fn: () => void): (() => void) => {
    if (aborted) {
      queueMicrotask(fn);
      return () => {};
    }
    const t = setTimeout(() => {
      sleeping.delete(t);
      fn();
    }, ms);
    sleeping.set(t, fn);
    return () => {
      if (sleeping.delete(t)) clearTimeout(t);
    };
  };
  const labKey = fromHex(plan.labKeyHex);
  // Your terminals' keys, read by each segment from the file the plan names (keys travel in no message).
  const fileKeys = plan.terminal.keysFile ? readTerminalKeys(plan.terminal.keysFile) : undefined;
  const ctx: FleetContext = {
    plan,
    labKey,
    framing: framingOf(plan.terminal),
    tidOf: (i) => (fileKeys ? fileKeys[i]!.tid : tidOf(plan.terminal.tidPrefix, plan.terminal.firstTid + i)),
    tmkOf: tmkLookup(labKey, fileKeys),
    deadlineMs: startAtMs + plan.durationS * 1000,
    random: Math.random,
    recorder,
    sockets: { opened: 0 },
    logged: new Set(),
    get aborted() {
      return aborted;
    },
    get conditions() {
      return conditions.current;
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        timer(ms, resolve);
      }),
    timer,
  };

  const terminals: (Terminal | undefined)[] = [];
  let created = 0;
  const localOf = (i: number) => {
    const j = (i - index) / slice.count;
    if (!Number.isInteger(j) || j < 0)
      throw new Error(`terminal ${i} is not in segment ${index} of ${slice.count}`);
    return j;
  };
  const rt: ModelRuntime = {
    ctx,
    recorder,
    startAtMs,
    slice,
    terminal: (i) => {
      const j = localOf(i);
      let t = terminals[j];
      if (t === undefined) {
        t = new Terminal(ctx.tidOf(i), ctx, softwareOf(plan.terminal.software, i));
        terminals[j] = t;
        created++;
        alive++;
      }
      return t;
    },
    release: (i) => {
      if (terminals[localOf(i)] !== undefined) alive--;
      terminals[localOf(i)] = undefined;
    },
    alive: () => terminals.filter((t): t is Terminal => t !== undefined),
  };

  const abort = () => {
    if (aborted) return;
    aborted = true;
    recorder.close();
    for (const [t, fn] of sleeping) {
      clearTimeout(t);
      fn();
    }
    sleeping.clear();
    for (const t of terminals) t?.abort();
  };
  if (signal?.aborted) abort();
  signal?.addEventListener("abort", abort, { once: true });

  const liveHeap = liveHeapWanted() ? new LiveHeapMeter() : undefined;
  let alive = 0;
  await sleepUntil(ctx, startAtMs, nowMs());
  const watch = new ThreadWatch();
  let lastSecond = -1;
  const sendSamples = () => {
    const { lines, count } = recorder.takeSamples();
    if (count > 0) post({ type: "samples", segment: index, lines, count });
  };
  /** Counts and histograms so far; self-watch for the wall time since the last tick, labelled `second`. */
  const sendTick = (second: number) => {
    liveHeap?.sample(alive, nowMs());
    const w = watch.take(second, index, recorder.takeStartStats());
    lastSecond = second;
    post({ type: "tick", segment: index, seconds: recorder.takeSeconds(), watch: w });
  };
  let batchTimer: NodeJS.Timeout | undefined;
  const onBatch = () => {
    // The boundary this timer was set for (timers may fire up to 1 ms early, or late under load).
    const q = Math.round((nowMs() - startAtMs) / SAMPLE_BATCH_MS);
    sendSamples();
    const ended = Math.floor((q * SAMPLE_BATCH_MS) / 1000) - 1;
    if (ended > lastSecond) sendTick(ended);
    batchTimer = setTimeout(onBatch, Math.max(1, startAtMs + (q + 1) * SAMPLE_BATCH_MS - nowMs()));
  };
  batchTimer = setTimeout(onBatch, SAMPLE_BATCH_MS);

  try {
    if (!aborted) {
      const fleet = plan.fleet;
      if (fleet.model === "population") await runPopulation(rt, fleet);
      else if (fleet.model === "closed") await runClosed(rt, fleet);
      else await runOpen(rt, fleet);
    }
  } finally {
    clearTimeout(batchTimer);
    signal?.removeEventListener("abort", abort);
    sendSamples();
    sendTick(Math.max(lastSecond + 1, Math.floor((nowMs() - startAtMs) / 1000)));
    watch.stop();
    if (!aborted) for (const t of terminals) t?.abort();
  }
  const cpu = process.threadCpuUsage(cpuStart);
  return {
    segment: index,
    aborted,
    terminals: created,
    socketsOpened: ctx.sockets.opened,
    cpuUserMs: Math.round(cpu.user / 1000),
    cpuSystemMs: Math.round(cpu.system / 1000),
    heapUsedMaxBytes: watch.heapUsedMaxBytes,
    ...(liveHeap ? { liveHeap: liveHeap.result() } : {}),
  };
}
