import { describe, expect, it } from "vitest";
import { seriesOf } from "../report/testing/series.ts";
import { type CapacityResult, type CapacityStep, finish } from "./capacity.ts";
import { firstSaturated, type ResourceReading, readResources } from "./saturation.ts";
import { bandOf, DEFAULT_SEARCH, type SearchStep, type StepStatus, searchCapacity } from "./search.ts";

// The search logic with a switch made of a threshold: every rate up to `limit` passes.
const threshold =
  (limit: number, extra: (rate: number) => StepStatus | undefined = () => undefined) =>
  async (rate: number) =>
    ({ rate, status: extra(rate) ?? (rate <= limit ? "pass" : "fail") }) as SearchStep;

describe("capacity search", () => {
  it("steps up by the factor, bisects to the precision, repeats the boundary", async () => {
    const ran: number[] = [];
    const outcome = await searchCapacity(
      { ...DEFAULT_SEARCH, startRate: 100, precision: 0.05 },
      async (rate, why) => {
        ran.push(rate);
        return { ...(await threshold(730)(rate)), why } as SearchStep;
      },
    );
    expect(ran.slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(outcome.stoppedBy).toBe("converged");
    expect(outcome.band!.low).toBeLessThanOrEqual(730);
    expect(outcome.band!.high).toBeGreaterThan(730);
    expect(outcome.band!.high! - outcome.band!.low).toBeLessThanOrEqual(0.05 * outcome.band!.low);
    // The last two steps repeat the boundary: the last pass and the first fail.
    expect(ran.slice(-2)).toEqual([outcome.band!.low, outcome.band!.high]);
  });

  it("steps down when the start rate already fails", async () => {
    const outcome = await searchCapacity({ ...DEFAULT_SEARCH, startRate: 400 }, threshold(90));
    expect(outcome.steps.map((s) => s.rate).slice(0, 4)).toEqual([400, 200, 100, 50]);
    expect(outcome.band!.low).toBeLessThanOrEqual(90);
    expect(outcome.band!.high).toBeGreaterThan(90);
  });

  it("stops at an inconclusive step: nothing above it is judged, and it is not a pass", async () => {
    const outcome = await searchCapacity(
      { ...DEFAULT_SEARCH, startRate: 100 },
      threshold(10_000, (rate) => (rate >= 400 ? "inconclusive" : undefined)),
    );
    expect(outcome.stoppedBy).toBe("inconclusive");
    // 400 is run again once (retries: 1) before the search gives up there.
    expect(outcome.steps.map((s) => s.rate)).toEqual([100, 200, 400, 400]);
    expect(outcome.band).toEqual({ low: 200 });
  });

  it("runs a step that was inconclusive once again, and goes on when the second run is conclusive", async () => {
    let disturbed = true;
    const purposes: string[] = [];
    const outcome = await searchCapacity({ ...DEFAULT_SEARCH, startRate: 100 }, async (rate, purpose) => {
      purposes.push(`${rate} ${purpose}`);
      if (rate === 200 && disturbed) {
        disturbed = false;
        return { rate, status: "inconclusive" };
      }
      return threshold(300)(rate);
    });
    expect(purposes.slice(0, 4)).toEqual(["100 step-up", "200 step-up", "200 retry", "400 step-up"]);
    expect(outcome.stoppedBy).toBe("converged");
    expect(outcome.band!.low).toBeLessThanOrEqual(300);
  });

  it("ends at the highest rate allowed, and when the budget refuses a step", async () => {
    const max = await searchCapacity({ ...DEFAULT_SEARCH, startRate: 100, maxRate: 300 }, threshold(10_000));
    expect(max.stoppedBy).toBe("max-rate");
    expect(max.steps.map((s) => s.rate)).toEqual([100, 200, 300]);
    let left = 2;
    const budget = await searchCapacity({ ...DEFAULT_SEARCH, startRate: 100 }, async (rate) =>
      left-- > 0 ? threshold(10_000)(rate) : undefined,
    );
    expect(budget.stoppedBy).toBe("budget");
    expect(budget.band).toEqual({ low: 200 });
  });

  it("a band holds only rates that passed every time, below the lowest that ever failed", () => {
    const steps: SearchStep[] = [
      { rate: 100, status: "pass" },
      { rate: 300, status: "pass" },
      { rate: 310, status: "fail" },
      { rate: 300, status: "fail" }, // the repeat broke: 300 no longer holds
      { rate: 290, status: "pass" },
      { rate: 500, status: "inconclusive" },
    ];
    expect(bandOf(steps)).toEqual({ low: 290, high: 300 });
  });
});

describe("what saturated", () => {
  const reading = (resource: string, saturated: boolean, busy: number | null = null): ResourceReading => ({
    resource,
    busy,
    queue: null,
    cores: null,
    saturated,
    signal: saturated ? "busy 1" : "busy 0.2",
  });

  it("is the resource saturated at the lowest rate; a program before the shared machine", () => {
    const steps = [
      { index: 1, rate: 400, resources: [reading("hsm", true, 1), reading("switch", true)] },
      {
        index: 2,
        rate: 200,
        resources: [reading("hsm", false, 0.5), reading("issuer-a", true, 0.95), reading("machine", true)],
      },
      { index: 3, rate: 100, resources: [reading("hsm", false, 0.2)] },
    ];
    expect(firstSaturated(steps)).toMatchObject({ resource: "issuer-a", stepIndex: 2, rate: 200 });
    expect(firstSaturated([{ index: 1, rate: 5, resources: [reading("hsm", false)] }])).toBeUndefined();
  });

  it("reads busy fractions, growing queues and CPU from the scraped series over the judged window only", () => {
    const series = seriesOf(Array.from({ length: 10 }, () => [{ outcome: "approved", count: 10 }]));
    const slots = (f: (i: number) => number) => Array.from({ length: 10 }, (_, i) => f(i));
    series.server = {
      hsm: {
        hsm_utilisation: slots((i) => (i < 2 ? 0.1 : 0.97)),
        hsm_queue_depth: slots((i) => (i < 2 ? 0 : (i - 2) * 10)),
        process_cpu_seconds_total: slots((i) => i * 0.05),
      },
      "issuer-a": {
        issuer_in_flight: slots(() => 2),
        issuer_workers: slots(() => 8),
        issuer_queue_depth: slots(() => 0),
        process_cpu_seconds_total: slots((i) => i * 0.02),
      },
      switch: {
        // in flight grows behind the saturated HSM: shown, but it does not make the switch saturated
        switch_in_flight: slots((i) => i * 10),
        switch_queue_depth: slots(() => 0),
        process_cpu_seconds_total: slots((i) => i * 0.3),
      },
    };
    const rs = readResources({ series, fromS: 2, toS: 10, fleetCores: 0.5, machineCores: 2 });
    const by = (name: string) => rs.find((r) => r.resource === name)!;
    expect(by("hsm").saturated).toBe(true);
    expect(by("hsm").busy).toBeCloseTo(0.97);
    expect(by("hsm").cores).toBeCloseTo(0.05);
    expect(by("hsm").signal).toMatch(/queue/);
    expect(by("issuer-a").saturated).toBe(false);
    expect(by("issuer-a").busy).toBeCloseTo(0.25);
    expect(by("switch").saturated).toBe(false);
    expect(by("switch").signal).toMatch(/in flight/);
    expect(by("machine").cores).toBeCloseTo(0.05 + 0.02 + 0.3 + 0.5);
    expect(by("machine").saturated).toBe(false);
  });
});

describe("your switch's CPU", () => {
  it("is judged against the cores it may use: the reference switch's one, or switchMetrics.cores", () => {
    const series = seriesOf(Array.from({ length: 10 }, () => [{ outcome: "approved", count: 10 }]));
    series.server = { switch: { process_cpu_seconds_total: Array.from({ length: 10 }, (_, i) => i * 0.95) } };
    const reference = readResources({ series, fromS: 0, toS: 10, machineCores: 4 });
    const yours = readResources({ series, fromS: 0, toS: 10, machineCores: 4, switchCores: 2 });
    const sw = (rs: typeof reference) => rs.find((r) => r.resource === "switch")!;
    expect(sw(reference).saturated).toBe(true);
    expect(sw(reference).signal).toBe("CPU 0.95 of 1 core(s)");
    expect(sw(yours).saturated).toBe(false);
    expect(sw(yours).cores).toBeCloseTo(0.95);
  });
});

describe("capacity verdict", () => {
  const step = (index: number, rate: number, status: StepStatus): CapacityStep => ({
    index,
    rate,
    status,
    purpose: "step-up",
    dir: `steps/${index}`,
    failing: status === "fail" ? ["p99"] : [],
    generator: status === "inconclusive" ? ["3 arrivals dropped"] : [],
    resources: [],
    wallS: 1,
    throughput: rate,
    attempts: rate,
    p50Ms: 1,
    p99Ms: 2,
    timeoutRate: 0,
    successRate: 1,
  });
  const result = (steps: CapacityStep[], extra: Partial<CapacityResult> = {}): CapacityResult => ({
    id: "x",
    profile: { name: "p", file: "p.ts" },
    operation: "signin",
    search: DEFAULT_SEARCH,
    window: { warmupS: 1, steadyS: 1 },
    startedAt: "",
    status: "running",
    steps,
    capacity: null,
    sloLeftOut: [],
    verdict: { status: "inconclusive", exitCode: 2, headline: "", notes: [] },
    stoppedBy: "converged",
    ...extra,
  });

  it("gates on --min: pass at or above, fail (1) when a step at or below it broke, else inconclusive (2)", () => {
    const steps = [step(1, 100, "pass"), step(2, 200, "fail"), step(3, 150, "pass"), step(4, 175, "fail")];
    const pass = result(steps, { minRate: 120 });
    finish(pass, "completed");
    expect(pass.capacity).toBe(150);
    expect(pass.verdict).toMatchObject({ status: "pass", exitCode: 0 });
    expect(pass.verdict.headline).toContain("163 ± 13 sign-ins/s");
    const fail = result(steps, { minRate: 180 });
    finish(fail, "completed");
    expect(fail.verdict).toMatchObject({ status: "fail", exitCode: 1 });
    const unknown = result([step(1, 100, "pass"), step(2, 200, "inconclusive")], {
      minRate: 150,
      stoppedBy: "inconclusive",
    });
    finish(unknown, "completed");
    expect(unknown.verdict).toMatchObject({ status: "inconclusive", exitCode: 2 });
    expect(unknown.verdict.notes.join(" ")).toMatch(/generator-limited/);
  });
});
