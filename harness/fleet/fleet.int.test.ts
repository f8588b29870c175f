import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { arrivalTimesMs } from "./arrivals.ts";
import { addCounts, newCounts, opsCounted } from "./counts.ts";
import { type FleetResult, type MergedSecond, runFleet } from "./index.ts";
import type { OperationSample, Sample } from "./samples.ts";
import { planFor, readSamples, recount, type SwitchLab, startSwitchLab } from "./testing/lab.ts";
import { threadPriority } from "./thread-priority.ts";

// The fleet engine against the real reference switch (in-process, scriptable backends), in worker threads
// and in-process: totals recounted from the samples file, the open model's schedule and drops, long links with
// echoes, abort and a crashing worker.

const labs: SwitchLab[] = [];
afterEach(async () => {
  await Promise.all(labs.splice(0).map((lab) => lab.close()));
});

async function lab(...args: Parameters<typeof startSwitchLab>): Promise<SwitchLab> {
  const started = await startSwitchLab(...args);
  labs.push(started);
  return started;
}

const samplesPath = () => join(mkdtempSync(join(tmpdir(), "posstorm-fleet-")), "samples.ndjson.gz");
const ops = (samples: Sample[]) => samples.filter((s): s is OperationSample => !("ev" in s));

/** The file holds exactly what the result says: same records, same counts. */
function expectFileMatches(result: FleetResult): Sample[] {
  const samples = readSamples(result.samples.path);
  expect(samples).toHaveLength(result.samples.records);
  expect(recount(samples)).toEqual(result.totals);
  return samples;
}

describe("population model against the reference switch", () => {
  for (const inProcess of [false, true]) {
    it(`sign-ins and purchases all approved, 2 segments ${inProcess ? "in-process" : "in worker threads"}`, async () => {
      const { sw } = await lab(40);
      const seconds: MergedSecond[] = [];
      const streamed: Sample[] = [];
      const result = await runFleet({
        plan: planFor(sw.port, {
          model: "population",
          terminals: 40,
          vus: 1,
          signIn: { curve: "uniform", windowS: 1 },
          purchases: { perTerminal: 2, thinkTimeS: { mean: 0.2, jitter: 0.1 } },
        }),
        samplesFile: samplesPath(),
        segments: 2,
        inProcess,
        onSecond: (s) => seconds.push(s),
        onSample: (s) => streamed.push(s),
      });
      expect(result.aborted).toBe(false);
      expect(result.segments).toBe(2);
      expect(result.totals.ops).toEqual({
        signin: { approved: { "00": 40 } },
        purchase: { approved: { "00": 80 } },
      });
      expect(result.totals.sessions).toEqual({ "signed-in": 40, "signed-out": 0 });
      expect(result.totals.unsettled).toBe(0);
      expect(result.latencyMs.purchase?.approved?.count).toBe(80);

      const samples = expectFileMatches(result);
      expect(streamed).toEqual(samples);
      // striped: terminal POS0000n (index n − 1) in segment (n − 1) mod 2, each signed in once
      const signIns = ops(samples).filter((s) => s.op === "signin");
      expect(new Set(signIns.map((s) => s.tid)).size).toBe(40);
      for (const s of signIns) expect(s.segment).toBe((Number(s.tid.slice(3)) - 1) % 2);
      expect(result.segmentReports.map((r) => r.terminals)).toEqual([20, 20]);
      // worker threads raise their own priority (the tests run as root: SCHED_FIFO 1, read back from /proc);
      // the coordinator's thread keeps its own
      expect(result.segmentReports.map((r) => r.priority)).toEqual(
        inProcess ? [undefined, undefined] : [0, 1].map(() => ({ policy: "fifo", rtPriority: 1, nice: -10 })),
      );
      if (!inProcess) expect(threadPriority()?.policy).toBe("normal");
      // onSecond deltas add up to the totals
      const summed = newCounts();
      for (const s of seconds) addCounts(summed, s.counts);
      expect(summed).toEqual(result.totals);
      // sign-ins intended within the 1 s window: second 0 only
      expect(Math.max(...signIns.map((s) => s.t))).toBeLessThan(1000);
    });
  }
});

describe("open model against the reference switch", () => {
  it("a constant 200 sign-ins/s for 3 s: every arrival at its intended time, the rate achieved", async () => {
    const { sw } = await lab(200);
    const stages = [{ durationS: 3, ratePerS: 200 }];
    const result = await runFleet({
      plan: planFor(sw.port, {
        model: "open",
        operation: "signin",
        stages,
        preAllocatedVUs: 10,
        maxVUs: 100,
        terminals: 200,
      }),
      samplesFile: samplesPath(),
      segments: 2,
    });
    const samples = expectFileMatches(result);
    expect(result.totals.dropped).toBe(0);
    expect(result.totals.ops.signin?.approved?.["00"]).toBe(600);
    // intended times are the schedule's, to 0.1 ms
    const intended = ops(samples)
      .map((s) => s.t)
      .sort((a, b) => a - b);
    expect(intended).toEqual(arrivalTimesMs(stages, 3).map((t) => Math.round(t * 10) / 10));
    // actual starts (intended + lag) span the 3 s: the rate achieved is within 3 % of 200/s
    const actual = ops(samples).map((s) => s.t + s.lag);
    const spanS = (Math.max(...actual) - Math.min(...actual)) / 1000;
    const achieved = (600 - 1) / spanS;
    expect(Math.abs(achieved - 200) / 200).toBeLessThan(0.03);
    // self-watch: both segments reported seconds 0–2 with their starts
    const starts = result.selfWatch.reduce((n, w) => n + w.starts, 0);
    expect(starts).toBe(600);
    expect(new Set(result.selfWatch.map((w) => w.segment))).toEqual(new Set([0, 1]));
  });

  it("a slow switch and a small concurrency cap: arrivals dropped, counted exactly, generator-limited", async () => {
    // Sign-ins wait 1.5 s on the HSM; 4 terminals may be busy at once over 2 segments.
    const { sw } = await lab(100, { hsm: { delayMs: () => 1_500 } });
    const result = await runFleet({
      plan: planFor(sw.port, {
        model: "open",
        operation: "signin",
        stages: [{ durationS: 2, ratePerS: 40 }],
        preAllocatedVUs: 1,
        maxVUs: 4,
        terminals: 100,
      }),
      samplesFile: samplesPath(),
      segments: 2,
    });
    const samples = expectFileMatches(result);
    const droppedRecords = samples.filter((s) => "ev" in s && s.ev === "dropped");
    expect(result.totals.dropped).toBeGreaterThan(0);
    expect(droppedRecords).toHaveLength(result.totals.dropped);
    expect(result.selfWatch.reduce((n, w) => n + w.dropped, 0)).toBe(result.totals.dropped);
    // every arrival either ran or was dropped: 80 in all; at most 4 ran per 1.5 s
    expect(opsCounted(result.totals, "signin") + result.totals.dropped).toBe(80);
    expect(opsCounted(result.totals, "signin")).toBeLessThanOrEqual(8);
    expect(Math.max(...result.selfWatch.map((w) => w.busyMax))).toBe(2); // per segment: 4 / 2
    expect(result.generatorLimited.limited).toBe(true);
    const reason = result.generatorLimited.reasons.find((r) => r.kind === "dropped");
    expect(reason?.worst).toBe(result.totals.dropped);
    expect(reason?.seconds.length).toBeGreaterThan(0);
  });
});

describe("closed model against the reference switch", () => {
  it("4 loops over 2 segments sign in back to back: never more than 4 at once, no TID twice at once", async () => {
    // Each sign-in waits 100 ms on the HSM: 4 loops for 1 s make about 40.
    const { sw } = await lab(10, { hsm: { delayMs: () => 100 } });
    const result = await runFleet({
      plan: planFor(
        sw.port,
        { model: "closed", operation: "signin", vus: 4, terminals: 10 },
        { durationS: 1 },
      ),
      samplesFile: samplesPath(),
      segments: 2,
    });
    const samples = expectFileMatches(result);
    const signIns = ops(samples).filter((s) => s.op === "signin");
    expect(signIns.every((s) => s.outcome === "approved" && s.ms >= 100)).toBe(true);
    // 4 loops × at most 11 (10 in the second, one more started just before the deadline); each takes ≥ 100 ms
    expect(signIns.length).toBeGreaterThanOrEqual(20);
    expect(signIns.length).toBeLessThanOrEqual(44);
    expect(Math.max(...signIns.map((s) => s.t))).toBeLessThan(1000);
    // loops take turns on their own terminals: all 10 used, none in two sign-ins at once
    const byTid = new Map<string, OperationSample[]>();
    for (const s of signIns) byTid.set(s.tid, [...(byTid.get(s.tid) ?? []), s]);
    expect(byTid.size).toBe(10);
    for (const list of byTid.values()) {
      list.sort((a, b) => a.t - b.t);
      for (let i = 1; i < list.length; i++)
        expect(list[i]!.t).toBeGreaterThanOrEqual(list[i - 1]!.t + list[i - 1]!.ms - 0.2);
    }
    // at every start, at most 4 sign-ins in flight (its own included); t and ms are rounded to 0.1 ms, and a
    // loop starts its next sign-in the moment the last one ends
    for (const s of signIns) {
      const inFlight = signIns.filter((o) => o.t <= s.t && s.t < o.t + o.ms - 0.2).length;
      expect(inFlight).toBeLessThanOrEqual(4);
    }
    expect(Math.max(...result.selfWatch.map((w) => w.busyMax))).toBe(2); // per segment: 4 / 2
    expect(result.totals.dropped).toBe(0);
  });
});

describe("long links", () => {
  it("terminals keep one link each and echo on it until the deadline", async () => {
    const switchLab = await lab(4);
    const longLinks: number[] = [];
    const result = await runFleet({
      plan: planFor(
        switchLab.sw.port,
        {
          model: "population",
          terminals: 4,
          vus: 1,
          signIn: { curve: "uniform", windowS: 0.2 },
          purchases: { perTerminal: 1, thinkTimeS: { mean: 0.1, jitter: 0 } },
        },
        {
          durationS: 2.5,
          terminal: {
            mode: "long",
            echoIntervalMs: 300,
            idleTimeoutMs: 1_000,
            responseTimeoutMs: 2_000,
            retry: { policy: "none" },
          },
        },
      ),
      samplesFile: samplesPath(),
      segments: 2,
      inProcess: true,
      onSecond: () => longLinks.push(switchLab.metric('switch_connections{mode="long"}')),
    });
    expectFileMatches(result);
    expect(result.totals.ops.signin).toEqual({ approved: { "00": 4 } });
    expect(result.totals.ops.purchase).toEqual({ approved: { "00": 4 } });
    const echoes = result.totals.ops.echo?.approved?.["00"] ?? 0;
    expect(echoes).toBeGreaterThanOrEqual(4 * 4); // ~2 s of 300 ms intervals per terminal
    expect(opsCounted(result.totals, "echo")).toBe(echoes); // none failed
    expect(switchLab.metric('switch_requests_total{code="00",mti="0820"}')).toBe(echoes);
    expect(longLinks.some((n) => n === 4)).toBe(true); // one link per terminal during the run
    await new Promise((r) => setTimeout(r, 100));
    expect(switchLab.metric('switch_connections{mode="long"}')).toBe(0); // closed at the deadline
    expect(result.endedAtMs - result.startAtMs).toBeGreaterThanOrEqual(2_400);
  });
});

describe("abort and failures", () => {
  for (const inProcess of [false, true]) {
    it(`abort mid-run stops every segment promptly and leaves a complete gzip (${inProcess ? "in-process" : "workers"})`, async () => {
      const { sw } = await lab(200);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 1_500);
      const started = Date.now();
      const result = await runFleet({
        plan: planFor(
          sw.port,
          {
            model: "population",
            terminals: 200,
            vus: 1,
            signIn: { curve: "uniform", windowS: 20 },
            purchases: { perTerminal: 5, thinkTimeS: { mean: 1, jitter: 0.5 } },
          },
          { durationS: 30, terminal: { mode: "long", echoIntervalMs: 500, retry: { policy: "none" } } },
        ),
        samplesFile: samplesPath(),
        segments: 2,
        inProcess,
        signal: controller.signal,
      });
      expect(result.aborted).toBe(true);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(result.segmentReports.every((r) => r.aborted)).toBe(true);
      const samples = expectFileMatches(result);
      expect(samples.length).toBeGreaterThan(0);
      expect(Math.max(...samples.map((s) => s.t))).toBeLessThan(2_000);
    });
  }

  it("a worker that crashes makes runFleet reject naming the segment, the gzip still whole", async () => {
    const { sw } = await lab(10);
    const file = samplesPath();
    await expect(
      runFleet({
        plan: planFor(sw.port, {
          model: "population",
          terminals: 10,
          vus: 1,
          signIn: { curve: "uniform", windowS: 0 },
          purchases: { perTerminal: 0, thinkTimeS: { mean: 0, jitter: 0 } },
        }),
        samplesFile: file,
        segments: 2,
        workerEntry: new URL("./testing/crash-worker.ts", import.meta.url),
      }),
    ).rejects.toThrow(/fleet segment 1 of 2 \(worker thread\) crashed: boom in the test worker/);
    expect(readSamples(file)).toEqual([]);
  });
});
