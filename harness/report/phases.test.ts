import { describe, expect, it } from "vitest";
import type { EntryRecord } from "../chaos/index.ts";
import { phasesOf } from "../chaos/index.ts";
import { contiguousRuns, phaseWindows, slotsIn } from "./phases.ts";

const record = (
  index: number,
  name: string,
  atS: number,
  forS: number,
  applied?: number,
  cleared?: number,
): EntryRecord => ({
  index,
  name,
  description: name,
  kind: "latency",
  target: index === 0 ? "edge" : "hsm",
  atS,
  forS,
  status: cleared === undefined ? "active" : "cleared",
  facts: {},
  ...(applied !== undefined ? { appliedAt: { iso: "", sinceStartS: applied } } : {}),
  ...(cleared !== undefined ? { clearedAt: { iso: "", sinceStartS: cleared } } : {}),
});

describe("phaseWindows", () => {
  it("moves planned boundaries to the actual apply and clear times and stretches the last phase over the drain", () => {
    const planned = phasesOf(
      [
        { name: "a", at: 10, for: 10, fault: { kind: "latency", link: "edge", latencyMs: 100 } },
        { name: "b", at: 30, for: 5, fault: { kind: "latency", link: "hsm", latencyMs: 100 } },
      ],
      60,
    );
    const windows = phaseWindows({
      phases: planned,
      entries: [record(0, "a", 10, 10, 10.2, 20.4), record(1, "b", 30, 5, 30.1, 35.3)],
      durationS: 60,
      endOfDataS: 68,
    });
    expect(windows).toEqual([
      { name: "baseline", kind: "baseline", startS: 0, endS: 10.2 },
      {
        name: "fault:a",
        kind: "fault",
        startS: 10.2,
        endS: 20.4,
        fault: "a",
        target: "edge",
        clearedAtS: 20.4,
      },
      { name: "recovery", kind: "recovery", startS: 20.4, endS: 30.1, fault: "a" },
      {
        name: "fault:b",
        kind: "fault",
        startS: 30.1,
        endS: 35.3,
        fault: "b",
        target: "hsm",
        clearedAtS: 35.3,
      },
      { name: "recovery", kind: "recovery", startS: 35.3, endS: 68, fault: "b" },
    ]);
  });

  it("lets a whole-run condition (network preset) move no boundary; fault entries keep their numbers", () => {
    const network = {
      at: 0,
      for: 60,
      fault: { kind: "latency", link: "edge", latencyMs: 35 },
      condition: true,
    } as const;
    const fault = {
      name: "a",
      at: 10,
      for: 10,
      fault: { kind: "latency", link: "edge", latencyMs: 100 },
    } as const;
    const windows = phaseWindows({
      phases: phasesOf([network, fault], 60),
      entries: [
        { ...record(0, "network-4g-1", 0, 60, 0.1, 60.2), condition: true },
        { ...record(1, "a", 10, 10, 10.2, 20.4), target: "edge" },
      ],
      durationS: 60,
      endOfDataS: 61,
    });
    expect(windows.map((w) => [w.name, w.startS, w.endS, w.fault])).toEqual([
      ["baseline", 0, 10.2, undefined],
      ["fault:a", 10.2, 20.4, "a"],
      ["recovery", 20.4, 61, "a"],
    ]);
  });

  it("keeps planned times without a timeline record", () => {
    const windows = phaseWindows({
      phases: phasesOf(
        [{ name: "a", at: 5, for: 5, fault: { kind: "latency", link: "edge", latencyMs: 1 } }],
        20,
      ),
      durationS: 20,
      endOfDataS: 15,
    });
    expect(windows.map((w) => [w.name, w.startS, w.endS, w.clearedAtS])).toEqual([
      ["baseline", 0, 5, undefined],
      ["fault:a", 5, 10, 10],
      ["recovery", 10, 20, undefined],
    ]);
  });
});

describe("slots", () => {
  it("puts a slot where its middle falls", () => {
    expect(slotsIn(10.2, 20.4, 30, 1)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(slotsIn(10.6, 12, 30, 1)).toEqual([11]);
    expect(slotsIn(0, 10, 5, 2)).toEqual([0, 1, 2, 3, 4]);
    expect(slotsIn(3, 4, 30, 2)).toEqual([1]);
  });

  it("splits slots into runs of consecutive ones", () => {
    expect(contiguousRuns([1, 2, 3, 7, 8, 10])).toEqual([[1, 2, 3], [7, 8], [10]]);
    expect(contiguousRuns([])).toEqual([]);
  });
});
