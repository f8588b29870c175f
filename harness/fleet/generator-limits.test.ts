import { describe, expect, it } from "vitest";
import { GENERATOR_BOUNDS, judgeGenerator } from "./generator-limits.ts";
import type { WatchSecond } from "./wire.ts";

const second = (s: number, over: Partial<WatchSecond> = {}): WatchSecond => ({
  second: s,
  segment: 0,
  loopDelayP99Ms: 1,
  loopDelayMaxMs: 2,
  utilisation: 0.3,
  starts: 100,
  scheduleLagP99Ms: 2,
  scheduleLagMaxMs: 4,
  scheduleLagUs: null,
  dropped: 0,
  busyMax: 10,
  ...over,
});
const steady = Array.from({ length: 30 }, (_, s) => second(s));
const lag = (p99Ms: number) => ({ starts: 3000, p99Ms, maxMs: p99Ms * 3 });

describe("judgeGenerator", () => {
  it("a fleet that kept its schedule is not limited", () => {
    const v = judgeGenerator(steady, lag(3));
    expect(v).toMatchObject({ limited: false, reasons: [], lateSeconds: [] });
  });

  it("any dropped arrival limits the run, with the total and the seconds", () => {
    const v = judgeGenerator(
      [...steady.slice(0, 4), second(4, { dropped: 7 }), second(5, { dropped: 5 })],
      lag(3),
    );
    expect(v.limited).toBe(true);
    expect(v.reasons.map((r) => [r.kind, r.worst, r.seconds])).toEqual([["dropped", 12, [4, 5]]]);
    expect(v.reasons[0]!.text).toBe("12 arrivals dropped (no free terminal; bound 0) in seconds 4, 5");
  });

  it("the run's merged schedule lag decides; a late second alone is listed but does not", () => {
    const blip = [...steady.slice(0, 10), second(10, { scheduleLagP99Ms: 24 }), ...steady.slice(11)];
    const v = judgeGenerator(blip, lag(4));
    expect(v).toMatchObject({ limited: false, lateSeconds: [10] });
    const late = judgeGenerator(blip, lag(12.4));
    expect(late.limited).toBe(true);
    expect(late.reasons[0]!.text).toBe(
      "schedule lag p99 12.4 ms over the run's 3000 starts (bound 10 ms); worst in second 10",
    );
  });

  it("a stalled event loop in any second limits the run", () => {
    const v = judgeGenerator([...steady.slice(0, 3), second(3, { loopDelayP99Ms: 180 })], lag(3));
    expect(v.reasons.map((r) => [r.kind, r.worst, r.seconds])).toEqual([["loop-delay", 180, [3]]]);
    expect(
      judgeGenerator([second(0, { loopDelayP99Ms: GENERATOR_BOUNDS.loopDelayP99Ms })], lag(3)).limited,
    ).toBe(false);
  });
});
