import { describe, expect, it } from "vitest";
import { runCleanups } from "../shared/shutdown.ts";
import { fakeClock, fakeLab } from "./testing/fakes.ts";
import { phasesOf, startTimeline, type TimelineEntry, validateTimeline } from "./timeline.ts";

const latency = (at: number, dur: number, name?: string): TimelineEntry => ({
  ...(name ? { name } : {}),
  at,
  for: dur,
  fault: { kind: "latency", link: "edge", latencyMs: 200 },
});

describe("validateTimeline", () => {
  it("accepts a valid timeline", () => {
    expect(validateTimeline([latency(10, 20), latency(30, 10)], 60)).toEqual([]);
  });

  it("rejects entries outside the load", () => {
    expect(validateTimeline([latency(10, 20), latency(400, 10)], 300)).toEqual([
      "chaos[1] starts at 400s but the load ends at 300s",
    ]);
    expect(validateTimeline([latency(290, 60)], 300)).toEqual([
      "chaos[0] ends at 350s but the load ends at 300s",
    ]);
  });

  it("rejects overlapping faults of the same kind on the same link and direction", () => {
    expect(validateTimeline([latency(60, 60), latency(90, 60)], 300)).toEqual([
      "chaos[1] (latency on edge, 90s–150s) overlaps chaos[0] (60s–120s)",
    ]);
    const up: TimelineEntry = {
      at: 90,
      for: 60,
      fault: { kind: "latency", link: "edge", latencyMs: 10, direction: "upstream" },
    };
    const otherLink: TimelineEntry = {
      at: 90,
      for: 60,
      fault: { kind: "latency", link: "hsm", latencyMs: 10 },
    };
    const otherKind: TimelineEntry = { at: 90, for: 60, fault: { kind: "down", link: "edge" } };
    expect(validateTimeline([latency(60, 60), up, otherLink, otherKind], 300)).toEqual([]);
  });

  it("reports bad times, bad faults with their path, and duplicate names", () => {
    const entries = [
      { at: -1, for: 10, fault: { kind: "down", link: "edge" } },
      { at: 5, for: 10, fault: { kind: "latency", link: "edge", latencyMs: -5 } },
      { name: "x", at: 5, for: 1, fault: { kind: "down", link: "hsm" } },
      { name: "x", at: 50, for: 1, fault: { kind: "down", link: "edge" } },
      { at: 1, duration: 3, fault: { kind: "down", link: "hsm" } },
    ];
    expect(validateTimeline(entries, 100)).toEqual([
      "chaos[0].at: -1 must be >= 0",
      "chaos[1].fault.latencyMs: -5 must be >= 0",
      "chaos[4].for: undefined is not a number of seconds",
      "chaos[4].duration: not a field of a timeline entry (name, at, for, fault, condition)",
      "chaos[3].name: x is also the name of chaos[2]",
    ]);
  });
});

describe("phasesOf", () => {
  it("leaves whole-run conditions (a network preset) out of the phases, entry numbers kept", () => {
    const network = { ...latency(0, 300, "network-4g-1"), condition: true };
    expect(phasesOf([network], 300)).toEqual([{ name: "baseline", kind: "baseline", startS: 0, endS: 300 }]);
    expect(phasesOf([network, latency(60, 30, "slow")], 300)).toEqual([
      { name: "baseline", kind: "baseline", startS: 0, endS: 60 },
      { name: "fault:slow", kind: "fault", startS: 60, endS: 90, entry: 1 },
      { name: "recovery", kind: "recovery", startS: 90, endS: 300, after: "slow" },
    ]);
  });

  it("gives baseline, fault windows and a recovery after each clear", () => {
    const phases = phasesOf(
      [latency(60, 30, "slow"), { at: 120, for: 60, fault: { kind: "down", link: "hsm" } }],
      300,
    );
    expect(phases).toEqual([
      { name: "baseline", kind: "baseline", startS: 0, endS: 60 },
      { name: "fault:slow", kind: "fault", startS: 60, endS: 90, entry: 0 },
      { name: "recovery", kind: "recovery", startS: 90, endS: 120, after: "slow" },
      { name: "fault:down@hsm", kind: "fault", startS: 120, endS: 180, entry: 1 },
      { name: "recovery", kind: "recovery", startS: 180, endS: 300, after: "down@hsm" },
    ]);
  });

  it("starts a recovery only when no fault is active any more", () => {
    const phases = phasesOf(
      [latency(10, 40, "a"), { name: "b", at: 20, for: 10, fault: { kind: "down", link: "hsm" } }],
      100,
    );
    expect(phases.map((p) => [p.name, p.startS, p.endS])).toEqual([
      ["baseline", 0, 10],
      ["fault:a", 10, 50],
      ["fault:b", 20, 30],
      ["recovery", 50, 100],
    ]);
  });

  it("is all baseline without faults; an instant fault opens a recovery at once", () => {
    expect(phasesOf([], 60)).toEqual([{ name: "baseline", kind: "baseline", startS: 0, endS: 60 }]);
    const phases = phasesOf([{ at: 30, for: 0, fault: { kind: "connection-kill", link: "edge" } }], 60);
    expect(phases.map((p) => [p.name, p.startS, p.endS])).toEqual([
      ["baseline", 0, 30],
      ["recovery", 30, 60],
    ]);
  });

  it("has no baseline when a fault starts at 0 and no recovery when it lasts to the end", () => {
    expect(phasesOf([latency(0, 60, "all")], 60).map((p) => p.name)).toEqual(["fault:all"]);
  });
});

describe("startTimeline (fake clock, fake seams)", () => {
  it("applies and clears each fault at its time, in order, recording the times", async () => {
    const lab = fakeLab();
    const clock = fakeClock();
    const start = clock.now();
    const timeline = startTimeline(
      [latency(1, 2, "slow"), { name: "hsm-down", at: 2, for: 2, fault: { kind: "down", link: "hsm" } }],
      lab.ctx,
      { clock, loadDurationS: 10, clearOnShutdown: false },
    );
    await clock.advanceTo(start + 999);
    expect(lab.log).toEqual([]);
    expect(timeline.records().map((r) => r.status)).toEqual(["pending", "pending"]);
    await clock.advanceTo(start + 1000);
    expect(lab.log).toEqual(["add edge latency_downstream"]);
    expect(timeline.records()[0]!.status).toBe("active");
    await clock.advanceTo(start + 10_000);
    expect(lab.log).toEqual([
      "add edge latency_downstream",
      "disable hsm",
      "remove edge latency_downstream",
      "enable hsm",
    ]);
    const result = await timeline.done;
    expect(result.aborted).toBe(false);
    expect(
      result.entries.map((e) => [e.name, e.status, e.appliedAt?.sinceStartS, e.clearedAt?.sinceStartS]),
    ).toEqual([
      ["slow", "cleared", 1, 3],
      ["hsm-down", "cleared", 2, 4],
    ]);
    expect(result.entries[0]!.appliedAt!.iso).toBe(new Date(start + 1000).toISOString());
    expect(result.entries[0]!.clearedBy).toBe("schedule");
    await timeline[Symbol.asyncDispose]();
  });

  it("clears everything still applied on abort and skips what has not started", async () => {
    const lab = fakeLab();
    const clock = fakeClock();
    const start = clock.now();
    const timeline = startTimeline(
      [
        latency(0, 60, "slow"),
        { name: "loss", at: 5, for: 30, fault: { kind: "packet-loss", link: "edge", lossPercent: 10 } },
        { name: "later", at: 50, for: 5, fault: { kind: "down", link: "edge" } },
      ],
      lab.ctx,
      { clock, clearOnShutdown: false },
    );
    await clock.advanceTo(start + 10_000);
    expect(lab.toxics.get("edge")!.size).toBe(1);
    expect(lab.drops.size).toBe(1);
    const result = await timeline.abort("test over");
    expect(lab.toxics.get("edge")!.size).toBe(0);
    expect(lab.drops.size).toBe(0);
    expect(lab.enabled.get("edge")).toBe(true);
    expect(result.aborted).toBe(true);
    expect(result.abortReason).toBe("test over");
    expect(result.entries.map((e) => [e.status, e.clearedBy, e.clearedAt?.sinceStartS])).toEqual([
      ["cleared", "abort", 10],
      ["cleared", "abort", 10],
      ["skipped", undefined, undefined],
    ]);
    expect(result.entries[1]!.facts).toEqual({ droppedPackets: 7 });
  });

  it("records a failed apply and a failed clear per entry, and carries on with the others", async () => {
    const lab = fakeLab();
    const clock = fakeClock();
    lab.failNext(/disable hsm/);
    lab.failNext(/remove edge/);
    const timeline = startTimeline(
      [latency(0, 1, "slow"), { name: "hsm", at: 0, for: 1, fault: { kind: "down", link: "hsm" } }],
      lab.ctx,
      { clock, clearOnShutdown: false },
    );
    await clock.advanceBy(5_000);
    const result = await timeline.done;
    expect(result.entries[0]!.status).toBe("clear-failed");
    expect(result.entries[0]!.clearError).toMatch(/injected failure: remove edge latency_downstream/);
    expect(result.entries[1]!.status).toBe("failed");
    expect(result.entries[1]!.error).toMatch(/injected failure: disable hsm/);
    expect(lab.enabled.get("hsm")).toBe(true); // the failed apply was undone
  });

  it("refuses an invalid timeline before touching anything", () => {
    const lab = fakeLab();
    expect(() => startTimeline([latency(400, 10)], lab.ctx, { loadDurationS: 300 })).toThrow(
      "invalid chaos timeline:\n  chaos[0] starts at 400s but the load ends at 300s",
    );
    expect(() => startTimeline([latency(10, 60), latency(20, 5)], lab.ctx)).toThrow(/overlaps chaos\[0\]/);
    expect(lab.log).toEqual([]);
  });

  it("clears on Ctrl-C through the shutdown cleanups", async () => {
    const lab = fakeLab();
    const timeline = startTimeline([latency(0, 60, "slow")], lab.ctx, { loadDurationS: 60 });
    for (let i = 0; i < 50 && lab.toxics.get("edge")!.size === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(lab.toxics.get("edge")!.size).toBe(1);
    await runCleanups();
    expect(lab.toxics.get("edge")!.size).toBe(0);
    expect((await timeline.done).abortReason).toBe("interrupted");
  });
});

describe("startTimeline (real clock, short times)", () => {
  it("applies at `at` and clears at `at + for` within a few ms", async () => {
    const lab = fakeLab();
    const times: [string, number][] = [];
    const start = Date.now();
    const add = lab.ctx.toxiproxy.addToxic;
    const remove = lab.ctx.toxiproxy.removeToxic;
    lab.ctx.toxiproxy.addToxic = async (p, t) => {
      times.push(["add", Date.now() - start]);
      return add(p, t);
    };
    lab.ctx.toxiproxy.removeToxic = async (p, t) => {
      times.push(["remove", Date.now() - start]);
      return remove(p, t);
    };
    await using timeline = startTimeline([latency(0.1, 0.2)], lab.ctx, {
      startAtMs: start,
      loadDurationS: 1,
    });
    const result = await timeline.done;
    expect(times.map(([what]) => what)).toEqual(["add", "remove"]);
    expect(times[0]![1]).toBeGreaterThanOrEqual(99);
    expect(times[0]![1]).toBeLessThan(250);
    expect(times[1]![1]).toBeGreaterThanOrEqual(299);
    expect(times[1]![1]).toBeLessThan(450);
    const { appliedAt, clearedAt } = result.entries[0]!;
    expect(appliedAt!.sinceStartS).toBeGreaterThanOrEqual(0.099);
    expect(appliedAt!.sinceStartS).toBeLessThan(0.25);
    expect(clearedAt!.sinceStartS).toBeGreaterThanOrEqual(0.299);
    expect(clearedAt!.sinceStartS).toBeLessThan(0.45);
  });
});
