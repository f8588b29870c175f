import { type EventLoopUtilization, monitorEventLoopDelay, performance } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { encodeHistogram, percentileOf } from "./histogram.ts";
import type { StartStats } from "./segment-recorder.ts";
import type { WatchSecond } from "./wire.ts";

// Self-watch of one segment's thread: event-loop delay and utilisation, plus the lateness of its scheduled
// starts, dropped arrivals and busy terminals (from the recorder), one WatchSecond per wall second. When
// these say the generator was the bottleneck, the run says so (generator-limits.ts).

/** Resolution of the event-loop delay sampler, ms: delays shorter than this are not seen. */
const LOOP_DELAY_RESOLUTION_MS = 10;

export class ThreadWatch {
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private elu: EventLoopUtilization;
  /** Largest heap in use seen at a tick, bytes. */
  heapUsedMaxBytes = 0;

  constructor() {
    this.loopDelay.enable();
    this.elu = performance.eventLoopUtilization();
  }

  /** The figures of the second that just ended; the counters start again. */
  take(second: number, segment: number, starts: StartStats): WatchSecond {
    const d = this.loopDelay;
    // The sampler records the time between its timer's runs: delay = that − the resolution.
    const loopDelayP99Ms = d.count > 0 ? excessMs(d.percentile(99)) : null;
    const loopDelayMaxMs = d.count > 0 ? excessMs(d.max) : null;
    d.reset();
    const elu = performance.eventLoopUtilization();
    const utilisation = performance.eventLoopUtilization(elu, this.elu).utilization;
    this.elu = elu;
    const heap = getHeapStatistics().used_heap_size;
    if (heap > this.heapUsedMaxBytes) this.heapUsedMaxBytes = heap;
    const lagP99Us = percentileOf(starts.lagUs, 99);
    const lagMaxUs = starts.lagUs.totalCount > 0 ? starts.lagUs.maxValue : null;
    return {
      second,
      segment,
      loopDelayP99Ms: round3(loopDelayP99Ms),
      loopDelayMaxMs: round3(loopDelayMaxMs),
      utilisation: round3(utilisation) ?? 0,
      starts: starts.starts,
      scheduleLagP99Ms: lagP99Us === null ? null : round3(lagP99Us / 1000),
      scheduleLagMaxMs: lagMaxUs === null ? null : round3(lagMaxUs / 1000),
      scheduleLagUs: starts.lagUs.totalCount > 0 ? encodeHistogram(starts.lagUs) : null,
      dropped: starts.dropped,
      busyMax: starts.busyMax,
    };
  }

  stop(): void {
    this.loopDelay.disable();
  }
}

function excessMs(intervalNs: number): number {
  return Math.max(0, intervalNs / 1e6 - LOOP_DELAY_RESOLUTION_MS);
}

function round3(value: number | null): number | null {
  return value === null || !Number.isFinite(value) ? null : Math.round(value * 1000) / 1000;
}
