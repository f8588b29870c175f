import type { WatchSecond } from "./wire.ts";

// Was the generator the bottleneck? A run whose fleet could not keep its schedule measures the generator, not
// the switch: every output says so. Judged from the self-watch of every segment and the run's merged schedule
// lag, against bounds:
//
// | bound                        | default  | why                                                               |
// | ---------------------------- | -------- | ----------------------------------------------------------------- |
// | dropped arrivals             | > 0      | an open-model arrival found no free terminal: the offered rate    |
// |                              |          | was not offered (the switch may be slow, but the cap made the shape)|
// | schedule lag p99, whole run  | > 10 ms  | starts were late throughout: the fleet's threads could not start   |
// |                              |          | work on time (merged over every start of every segment)          |
// | event-loop delay p99, any s  | > 100 ms | a thread stalled for a tenth of a second: that second's timers     |
// |                              |          | (connect, response) and reads ran late, its latencies are posstorm's|
//
// A second whose schedule-lag p99 alone passes 10 ms is listed in the verdict (where to look) but does not
// decide it: on a machine shared with the lab the scheduler delays a thread now and then, and latency is
// measured from the intended start, so such a second shows in the figures rather than hiding.

export interface GeneratorBounds {
  /** Dropped arrivals allowed over the run (0: any drop limits). */
  droppedArrivals: number;
  /** Schedule lag p99 allowed over the whole run, ms. */
  scheduleLagP99Ms: number;
  /** Event-loop delay p99 allowed in any second, ms. */
  loopDelayP99Ms: number;
}

export const GENERATOR_BOUNDS: GeneratorBounds = {
  droppedArrivals: 0,
  scheduleLagP99Ms: 10,
  loopDelayP99Ms: 100,
};

export interface GeneratorReason {
  kind: "dropped" | "schedule-lag" | "loop-delay";
  /** Seconds since load start where it happened (any segment), ascending. */
  seconds: number[];
  /** Dropped: the total; lag: the run's p99, ms; delay: the worst second's p99, ms. */
  worst: number;
  bound: number;
  /** One line for people: `schedule lag p99 12.4 ms over the run (bound 10 ms); worst in seconds 3, 4`. */
  text: string;
}

export interface GeneratorVerdict {
  limited: boolean;
  reasons: GeneratorReason[];
  bounds: GeneratorBounds;
  /** Every scheduled start's lateness over the run, merged (null without starts), ms. */
  scheduleLag: { starts: number; p99Ms: number | null; maxMs: number | null };
  /** Seconds where some segment's schedule-lag p99 passed the bound (information; the verdict is the run's). */
  lateSeconds: number[];
}

export function judgeGenerator(
  watch: readonly WatchSecond[],
  scheduleLag: GeneratorVerdict["scheduleLag"],
  bounds: GeneratorBounds = GENERATOR_BOUNDS,
): GeneratorVerdict {
  const reasons: GeneratorReason[] = [];
  const lateSeconds = secondsWhere(watch, (w) => (w.scheduleLagP99Ms ?? 0) > bounds.scheduleLagP99Ms);
  const dropped = watch.reduce((sum, w) => sum + w.dropped, 0);
  if (dropped > bounds.droppedArrivals) {
    const seconds = secondsWhere(watch, (w) => w.dropped > 0);
    reasons.push({
      kind: "dropped",
      seconds,
      worst: dropped,
      bound: bounds.droppedArrivals,
      text: `${dropped} arrivals dropped (no free terminal; bound ${bounds.droppedArrivals}) in ${list(seconds)}`,
    });
  }
  if (scheduleLag.p99Ms !== null && scheduleLag.p99Ms > bounds.scheduleLagP99Ms) {
    reasons.push({
      kind: "schedule-lag",
      seconds: lateSeconds,
      worst: scheduleLag.p99Ms,
      bound: bounds.scheduleLagP99Ms,
      text:
        `schedule lag p99 ${scheduleLag.p99Ms.toFixed(1)} ms over the run's ${scheduleLag.starts} starts ` +
        `(bound ${bounds.scheduleLagP99Ms} ms)${lateSeconds.length > 0 ? `; worst in ${list(lateSeconds)}` : ""}`,
    });
  }
  const stalled = watch.filter((w) => (w.loopDelayP99Ms ?? 0) > bounds.loopDelayP99Ms);
  if (stalled.length > 0) {
    const worst = Math.max(...stalled.map((w) => w.loopDelayP99Ms ?? 0));
    const seconds = secondsWhere(stalled, () => true);
    reasons.push({
      kind: "loop-delay",
      seconds,
      worst,
      bound: bounds.loopDelayP99Ms,
      text: `event-loop delay p99 up to ${worst.toFixed(1)} ms (bound ${bounds.loopDelayP99Ms} ms) in ${list(seconds)}`,
    });
  }
  return { limited: reasons.length > 0, reasons, bounds, scheduleLag, lateSeconds };
}

function secondsWhere(watch: readonly WatchSecond[], test: (w: WatchSecond) => boolean): number[] {
  return [...new Set(watch.filter(test).map((w) => w.second))].sort((a, b) => a - b);
}

function list(seconds: number[]): string {
  const shown = seconds.slice(0, 10).join(", ");
  const more = seconds.length > 10 ? ` and ${seconds.length - 10} more` : "";
  return `${seconds.length === 1 ? "second" : "seconds"} ${shown}${more}`;
}
