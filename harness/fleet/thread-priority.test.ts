import { describe, expect, it } from "vitest";
import { describePriority, parseThreadStat, wantedNice, wantedRtPriority } from "./thread-priority.ts";

describe("the fleet threads' priority", () => {
  it("nice: defaults to -10, takes POSSTORM_FLEET_NICE, refuses what is not a nice value", () => {
    expect(wantedNice({})).toBe(-10);
    expect(wantedNice({ POSSTORM_FLEET_NICE: "0" })).toBe(0);
    expect(wantedNice({ POSSTORM_FLEET_NICE: "-5" })).toBe(-5);
    expect(() => wantedNice({ POSSTORM_FLEET_NICE: "-21" })).toThrow(
      'POSSTORM_FLEET_NICE: "-21" is not a nice value (a whole number -20…19)',
    );
    expect(() => wantedNice({ POSSTORM_FLEET_NICE: "high" })).toThrow(/"high" is not a nice value/);
  });

  it("real-time: defaults to SCHED_FIFO 1, takes POSSTORM_FLEET_RT_PRIORITY (0 for none), refuses the rest", () => {
    expect(wantedRtPriority({})).toBe(1);
    expect(wantedRtPriority({ POSSTORM_FLEET_RT_PRIORITY: "0" })).toBe(0);
    expect(wantedRtPriority({ POSSTORM_FLEET_RT_PRIORITY: "50" })).toBe(50);
    expect(() => wantedRtPriority({ POSSTORM_FLEET_RT_PRIORITY: "100" })).toThrow(
      'POSSTORM_FLEET_RT_PRIORITY: "100" is not a real-time priority (a whole number 0…99)',
    );
    expect(() => wantedRtPriority({ POSSTORM_FLEET_RT_PRIORITY: "1.5" })).toThrow(/not a real-time priority/);
  });

  it("reads policy, real-time priority and nice from a /proc stat line, whatever the thread's name holds", () => {
    // fields 3…41 of a SCHED_FIFO 1 thread at nice -10, named with a space and a parenthesis
    const tail = (nice: number, rt: number, policy: number) =>
      `S 1 1 1 0 -1 4194560 100 0 0 0 5 3 0 0 -2 ${nice} 7 0 4972391 3133440 390 18446744073709551615 1 1 1 0 0 0 0 0 0 0 0 0 -1 1 ${rt} ${policy} 0 0 0`;
    const fifo = parseThreadStat(`4242 (posstorm (x) 1) ${tail(-10, 1, 1)}`);
    expect(fifo).toEqual({ policy: "fifo", rtPriority: 1, nice: -10 });
    expect(describePriority(fifo)).toBe("fifo 1");
    const normal = parseThreadStat(`4243 (node) ${tail(-10, 0, 0)}`);
    expect(normal).toEqual({ policy: "normal", rtPriority: 0, nice: -10 });
    expect(describePriority(normal)).toBe("normal, nice -10");
    expect(() => parseThreadStat("4244 (node) S 1 2")).toThrow(/not a \/proc stat line/);
  });
});
