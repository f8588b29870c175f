import diagnostics from "node:diagnostics_channel";
import type { Worker } from "node:worker_threads";
import type { SegmentMessage, SegmentReport } from "../harness/fleet/wire.ts";

// The fleet's worker threads seen from the bench, which runs runProfile (and so runFleet) in its own process:
// Node publishes every new Worker on the `worker_threads` diagnostics channel. For each one the bench keeps
// the segment's own end report (SegmentReport: its thread's CPU and the largest V8 heap it sampled once a
// second), the heap and CPU once the worker said `ready` (modules loaded, no terminal yet: the baseline), its own
// once-a-second reading of the worker's heap (worker.getHeapStatistics()). Nothing is sent to the workers.

const CHANNEL = "worker_threads";

export interface FleetThread {
  /** Segment index (from its messages). */
  segment?: number;
  /** V8 heap in use after `ready` (modules loaded, no terminal created), bytes. */
  readyHeapBytes?: number;
  /** The thread's CPU (user + system) when it said `ready`: loading its modules, before the load, ms. */
  readyCpuMs?: number;
  /** Largest heap in use the bench read, bytes. */
  heapPeakBytes: number;
  /** The segment's end report (undefined when the worker ended without one). */
  report?: SegmentReport;
  readyAtMs?: number;
  doneAtMs?: number;
}

export interface FleetThreadFigures {
  threads: FleetThread[];
  /** Σ of each segment's largest heap: the report's figure, or the bench's reading when larger. */
  heapPeakBytes: number;
  /** Σ of the segments' heaps at `ready`. */
  readyHeapBytes: number;
  /** Σ of the segment threads' CPU (user + system) from their reports, less what they used before `ready`, s. */
  cpuSeconds: number;
  /** When the last segment said `done` (the load's end), ms since the epoch. */
  lastDoneAtMs?: number;
}

export class FleetThreads {
  readonly #threads: FleetThread[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #onWorker = (message: unknown) => this.#watch((message as { worker: Worker }).worker);

  constructor() {
    diagnostics.subscribe(CHANNEL, this.#onWorker);
  }

  #watch(worker: Worker): void {
    const thread: FleetThread = { heapPeakBytes: 0 };
    this.#threads.push(thread);
    const readHeap = async () => {
      try {
        const used = (await worker.getHeapStatistics()).used_heap_size;
        thread.heapPeakBytes = Math.max(thread.heapPeakBytes, used);
        return used;
      } catch {
        return undefined; // the worker has ended
      }
    };
    worker.on("message", (message: SegmentMessage) => {
      if (message.type === "ready") {
        thread.segment = message.segment;
        thread.readyAtMs = Date.now();
        void readHeap().then((used) => {
          thread.readyHeapBytes = used;
        });
        worker.cpuUsage().then(
          (cpu) => {
            thread.readyCpuMs = (cpu.user + cpu.system) / 1000;
          },
          () => undefined,
        );
      } else if (message.type === "done") {
        thread.report = message.report;
        thread.doneAtMs = Date.now();
      }
    });
    const timer = setInterval(() => void readHeap(), 1_000);
    timer.unref();
    this.#timers.add(timer);
    worker.once("exit", () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    });
  }

  stop(): FleetThreadFigures {
    diagnostics.unsubscribe(CHANNEL, this.#onWorker);
    for (const timer of this.#timers) clearInterval(timer);
    const threads = this.#threads.filter((t) => t.segment !== undefined);
    const done = threads.flatMap((t) => (t.doneAtMs === undefined ? [] : [t.doneAtMs]));
    return {
      threads,
      heapPeakBytes: threads.reduce(
        (sum, t) => sum + Math.max(t.heapPeakBytes, t.report?.heapUsedMaxBytes ?? 0),
        0,
      ),
      readyHeapBytes: threads.reduce((sum, t) => sum + (t.readyHeapBytes ?? 0), 0),
      cpuSeconds: threads.reduce(
        (sum, t) =>
          sum + (t.report ? t.report.cpuUserMs + t.report.cpuSystemMs - (t.readyCpuMs ?? 0) : 0) / 1000,
        0,
      ),
      lastDoneAtMs: done.length > 0 ? Math.max(...done) : undefined,
    };
  }
}
