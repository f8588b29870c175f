import { nowMs } from "./clock.ts";
import type { FleetContext } from "./context.ts";
import type { SegmentRecorder } from "./segment-recorder.ts";
import type { Terminal } from "./terminal.ts";
import type { SegmentSlice } from "./wire.ts";

// What a load model (population.ts, open.ts) gets from its segment (segment.ts).

export interface ModelRuntime {
  readonly ctx: FleetContext;
  readonly recorder: SegmentRecorder;
  /** Load start on the engine clock (clock.ts). */
  readonly startAtMs: number;
  readonly slice: SegmentSlice;
  /** The terminal of fleet index `index` (index mod slice.count = slice.index), created on first use. */
  terminal(index: number): Terminal;
  /** Forgets a terminal that will not be used again (its memory goes). */
  release(index: number): void;
  /** The terminals created and not released. */
  alive(): Terminal[];
}

/**
 * Sleeps until `atMs` on the engine clock (not at all when it has passed). Node's timers count whole
 * milliseconds of a cached loop time, so one can fire up to 1 ms early: sleep again until the time is reached.
 */
export async function sleepUntil(ctx: FleetContext, atMs: number, now: number): Promise<void> {
  let remaining = atMs - now;
  while (remaining > 0 && !ctx.aborted) {
    await ctx.sleep(remaining);
    remaining = atMs - nowMs();
  }
}
