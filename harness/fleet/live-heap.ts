import v8 from "node:v8";
import vm from "node:vm";

// Live memory of a segment's terminals, for benchmarks (POSSTORM_FLEET_LIVE_HEAP=1): the V8 heap in use plus
// the isolate's external memory (array buffers' backing stores) right after a full collection, once before
// the load (the baseline: modules loaded, no terminal) and again each time the live terminals have grown by a
// tenth (at most every 10 s). Every reading is kept, so a benchmark can give both the memory per terminal at
// the most terminals alive (fixed costs included) and the slope (what one more terminal costs). A collection
// stops the thread for tens of ms, so this stays off in ordinary runs.

export interface LiveHeapReading {
  /** Live terminals at the reading. */
  terminals: number;
  /** V8 heap in use after a collection, bytes. */
  heapBytes: number;
  /** The isolate's external memory then (array buffers' backing stores), bytes. */
  externalBytes: number;
}

export interface LiveHeap {
  /** Heap plus external memory after a collection before the load, bytes. */
  baselineBytes: number;
  /** The reading with the most terminals alive: its terminals and heap plus external memory, bytes. */
  terminals: number;
  bytes: number;
  /** Every reading, the baseline (0 terminals) first. */
  readings: LiveHeapReading[];
}

const MIN_TERMINALS = 100;
const MIN_INTERVAL_MS = 10_000;

export class LiveHeapMeter {
  private readonly gc: () => void;
  private readonly readings: LiveHeapReading[] = [];
  private lastMs = 0;

  constructor() {
    v8.setFlagsFromString("--expose-gc");
    this.gc = vm.runInNewContext("gc") as () => void;
    this.readings.push(this.collect(0));
  }

  /** Called once a second with the terminals alive now. */
  sample(terminals: number, nowMs: number): void {
    if (terminals < MIN_TERMINALS || terminals < this.most().terminals * 1.1) return;
    if (nowMs - this.lastMs < MIN_INTERVAL_MS) return;
    this.lastMs = nowMs;
    this.readings.push(this.collect(terminals));
  }

  result(): LiveHeap {
    const most = this.most();
    return {
      baselineBytes: bytesOf(this.readings[0]!),
      terminals: most.terminals,
      bytes: bytesOf(most),
      readings: this.readings.map((r) => ({ ...r })),
    };
  }

  private most(): LiveHeapReading {
    return this.readings.reduce((a, b) => (b.terminals > a.terminals ? b : a));
  }

  private collect(terminals: number): LiveHeapReading {
    this.gc();
    const stats = v8.getHeapStatistics();
    return { terminals, heapBytes: stats.used_heap_size, externalBytes: stats.external_memory };
  }
}

const bytesOf = (r: LiveHeapReading) => r.heapBytes + r.externalBytes;

/**
 * Bytes per terminal by least squares over the readings with terminals alive (not the baseline: before the
 * load the heap still holds what V8 drops later, such as bytecode of start-up code it flushes once unused):
 * what one more live terminal costs, without the costs that do not grow with terminals. Undefined with fewer
 * than two distinct counts.
 */
export function bytesPerTerminalSlope(all: readonly LiveHeapReading[]): number | undefined {
  const readings = all.filter((r) => r.terminals > 0);
  const n = readings.length;
  if (n < 2) return undefined;
  const mx = readings.reduce((s, r) => s + r.terminals, 0) / n;
  const my = readings.reduce((s, r) => s + bytesOf(r), 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const r of readings) {
    sxx += (r.terminals - mx) ** 2;
    sxy += (r.terminals - mx) * (bytesOf(r) - my);
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

/** Whether benchmarks asked for live-heap readings. */
export const liveHeapWanted = (env: NodeJS.ProcessEnv = process.env) => env.POSSTORM_FLEET_LIVE_HEAP === "1";
