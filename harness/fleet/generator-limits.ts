import type { WatchSecond } from "./wire.ts";

// Was the generator the bottleneck? A run whose fleet could not keep its schedule measures the generator, not
// the switch: every output says so. Judged from the self-watch seconds of every segment, against bounds:
//
// | bound                 | default | why                                                                   |
// | --------------------- | ------- | --------------------------------------------------------------------- |
// | dropped arrivals      | > 0     | an open-model arrival found no free terminal: the offered rate was not |
// |                       |         | offered (the switch may be slow, but the fleet cap made the shape)    |
// | schedule lag p99      | > 10 ms | starts were late: the fleet's thread was too busy to start work on time |
// | event-loop delay p99  | > 50 ms | the thread was blocked: timers (connect, response) and reads ran late,  |
// |                       |         | so latencies include the generator's own stalls                        |
//
// Each is checked per second and segment; a reason lists the seconds where its bound was crossed.

export interface GeneratorBounds {
  /** Dropped arrivals allowed over the run (0: any drop limits). */
  droppedArrivals: number;
  /** Schedule lag p99 allowed in any second, ms. */
  scheduleLagP99Ms: number;
  /** Event-loop delay p99 allowed in any second, ms. */
  loopDelayP99Ms: number;
}

export const GENERATOR_BOUNDS: GeneratorBounds = {
  droppedArrivals: 0,
  scheduleLagP99Ms: 10,
  loopDelayP99Ms: 50,
};

export interface GeneratorReason {
  kind: "dropped" | "schedule-lag" | "loop-delay";
  /** Seconds since load start where the bound was crossed (any segment), ascending. */
  seconds: number[];
  /** Dropped: the total; lag and delay: the worst p99 seen, ms. */
  worst: number;
  bound: number;
  /** One line for people: `schedule lag p99 up to 31.2 ms (bound 10 ms) in seconds 3, 4`. */
  text: string;
}

export interface GeneratorVerdict {
  limited: boolean;
  reasons: GeneratorReason[];
  bounds: GeneratorBounds;
}

export function judgeGenerator(
  watch: readonly WatchSecond[],
  bounds: GeneratorBounds = GENERATOR_BOUNDS,
): GeneratorVerdict {
  const reasons: GeneratorReason[] = [];
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
  const over = (
    kind: "schedule-lag" | "loop-delay",
    label: string,
    value: (w: WatchSecond) => number | null,
    bound: number,
  ) => {
    const crossing = watch.filter((w) => (value(w) ?? 0) > bound);
    if (crossing.length === 0) return;
    const worst = Math.max(...crossing.map((w) => value(w) ?? 0));
    const seconds = secondsWhere(crossing, () => true);
    reasons.push({
      kind,
      seconds,
      worst,
      bound,
      text: `${label} p99 up to ${worst.toFixed(1)} ms (bound ${bound} ms) in ${list(seconds)}`,
    });
  };
  over("schedule-lag", "schedule lag", (w) => w.scheduleLagP99Ms, bounds.scheduleLagP99Ms);
  over("loop-delay", "event-loop delay", (w) => w.loopDelayP99Ms, bounds.loopDelayP99Ms);
  return { limited: reasons.length > 0, reasons, bounds };
}

function secondsWhere(watch: readonly WatchSecond[], test: (w: WatchSecond) => boolean): number[] {
  return [...new Set(watch.filter(test).map((w) => w.second))].sort((a, b) => a - b);
}

function list(seconds: number[]): string {
  const shown = seconds.slice(0, 10).join(", ");
  const more = seconds.length > 10 ? ` and ${seconds.length - 10} more` : "";
  return `${seconds.length === 1 ? "second" : "seconds"} ${shown}${more}`;
}
