import v8 from "node:v8";
import vm from "node:vm";

// Live memory of a segment's terminals, for benchmarks (POSSTORM_FLEET_LIVE_HEAP=1): the V8 heap in use right
// after a full collection, once before the load (the baseline: modules loaded, no terminal) and again each time
// the live terminals have grown by a tenth (at most every 10 s), keeping the reading with the most terminals.
// A collection stops the thread for tens of ms, so this stays off in ordinary runs.

export interface LiveHeap {
  /** Heap in use after a collection before the load, bytes. */
  baselineBytes: number;
  /** Live terminals at the reading kept, and the heap in use after a collection then, bytes. */
  terminals: number;
  bytes: number;
}

const MIN_TERMINALS = 100;
const MIN_INTERVAL_MS = 10_000;

export class LiveHeapMeter {
  private readonly gc: () => void;
  private readonly reading: LiveHeap;
  private lastMs = 0;

  constructor() {
    v8.setFlagsFromString("--expose-gc");
    this.gc = vm.runInNewContext("gc") as () => void;
    const baselineBytes = this.collect();
    this.reading = { baselineBytes, terminals: 0, bytes: baselineBytes };
  }

  /** Called once a second with the terminals alive now. */
  sample(terminals: number, nowMs: number): void {
    if (terminals < MIN_TERMINALS || terminals < this.reading.terminals * 1.1) return;
    if (nowMs - this.lastMs < MIN_INTERVAL_MS) return;
    this.lastMs = nowMs;
    const bytes = this.collect();
    this.reading.terminals = terminals;
    this.reading.bytes = bytes;
  }

  result(): LiveHeap {
    return { ...this.reading };
  }

  private collect(): number {
    this.gc();
    return v8.getHeapStatistics().used_heap_size;
  }
}

/** Whether benchmarks asked for live-heap readings. */
export const liveHeapWanted = (env: NodeJS.ProcessEnv = process.env) => env.POSSTORM_FLEET_LIVE_HEAP === "1";
