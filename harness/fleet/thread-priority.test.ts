import { describe, expect, it } from "vitest";
import { wantedNice } from "./thread-priority.ts";

describe("the fleet threads' nice value", () => {
  it("defaults to -10, takes POSSTORM_FLEET_NICE, refuses what is not a nice value", () => {
    expect(wantedNice({})).toBe(-10);
    expect(wantedNice({ POSSTORM_FLEET_NICE: "0" })).toBe(0);
    expect(wantedNice({ POSSTORM_FLEET_NICE: "-5" })).toBe(-5);
    expect(() => wantedNice({ POSSTORM_FLEET_NICE: "-21" })).toThrow(
      'POSSTORM_FLEET_NICE: "-21" is not a nice value (a whole number -20…19)',
    );
    expect(() => wantedNice({ POSSTORM_FLEET_NICE: "high" })).toThrow(/"high" is not a nice value/);
  });
});
