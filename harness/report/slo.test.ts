import { describe, expect, it } from "vitest";
import { percentileMs } from "./histogram.ts";
import type { PhaseWindow } from "./phases.ts";
import type { Reconciliation } from "./reconcile.ts";
import { allSlots, latencyOver } from "./series.ts";
import { evaluate, marginTo, type Slo, type SloResult, validateSlos } from "./slo.ts";
import { LOAD_START_MS, type OpSpec, phasesWithFault, seriesOf, steady } from "./testing/series.ts";

const one = (
  slo: Slo,
  series = seriesOf(steady(10, 99, 1)),
  phases: PhaseWindow[] = [],
  rec?: Reconciliation,
) => evaluate([slo], series, phases, rec).slos[0]!;

describe("rate indicators", () => {
  // 10 s: each second 99 approved + 1 response timeout → 1 %.
  it("timeout rate, total and per kind", () => {
    const s = seriesOf(
      Array.from({ length: 10 }, () => [
        { outcome: "approved", count: 96 },
        { outcome: "timeout.response", count: 3 },
        { outcome: "timeout.connect", count: 1 },
      ]),
    );
    expect(one({ indicator: "timeout-rate", objective: { max: 0.05 } }, s)).toMatchObject({
      measured: 0.04,
      status: "pass",
      counts: { events: 40, attempts: 1000 },
    });
    expect(one({ indicator: "timeout-rate", kind: "connect", objective: { max: 0.05 } }, s).measured).toBe(
      0.01,
    );
    expect(one({ indicator: "timeout-rate", kind: "response", objective: { max: 0.02 } }, s)).toMatchObject({
      measured: 0.03,
      status: "fail",
    });
    expect(one({ indicator: "timeout-rate", kind: "idle", objective: { max: 0 } }, s)).toMatchObject({
      measured: 0,
      status: "pass",
    });
  });

  it("judgeFromS leaves a warm-up out: timeouts in its seconds do not count", () => {
    // 3 s of warm-up full of timeouts, then 7 s clean.
    const s = seriesOf(
      Array.from({ length: 10 }, (_, i) =>
        i < 3 ? [{ outcome: "timeout.response", count: 50 }] : [{ outcome: "approved", count: 100 }],
      ),
    );
    const slo: Slo = { indicator: "timeout-rate", objective: { max: 0.01 } };
    expect(evaluate([slo], s, []).slos[0]).toMatchObject({ status: "fail" });
    expect(evaluate([slo], s, [], undefined, { judgeFromS: 3 }).slos[0]).toMatchObject({
      status: "pass",
      counts: { events: 0, attempts: 700 },
    });
    // A cut in the middle of a second keeps that second (its middle is after the cut).
    expect(evaluate([slo], s, [], undefined, { judgeFromS: 2.4 }).slos[0]).toMatchObject({
      counts: { events: 50, attempts: 750 },
    });
  });

  it("error rate counts failed connections, bad replies and switch error codes, not business declines", () => {
    const s = seriesOf([
      [
        { outcome: "approved", count: 90 },
        { outcome: "declined", count: 4, code: "51" }, // business decline: not an error
        { outcome: "declined", count: 2, code: "96" }, // switch malfunction: an error
        { outcome: "reset", count: 1 },
        { outcome: "mac", count: 1 },
        { outcome: "timeout.response", count: 2 }, // a timeout, not an error
      ],
    ]);
    expect(one({ indicator: "error-rate", objective: { max: 0.05 } }, s)).toMatchObject({
      measured: 0.04,
      counts: { events: 4, attempts: 100 },
      status: "pass",
    });
    expect(one({ indicator: "success-rate", objective: { min: 0.95 } }, s)).toMatchObject({
      measured: 0.9,
      margin: expect.closeTo(-0.05, 10),
      status: "fail",
    });
  });

  it("scopes to one operation", () => {
    const s = seriesOf([
      [
        { op: "signin", outcome: "timeout.connect", count: 5 },
        { op: "signin", outcome: "approved", count: 5 },
        { op: "purchase", outcome: "approved", count: 10 },
      ],
    ]);
    expect(
      one({ indicator: "timeout-rate", scope: { operation: "signin" }, objective: { max: 0.1 } }, s).measured,
    ).toBe(0.5);
    expect(
      one({ indicator: "timeout-rate", scope: { operation: "purchase" }, objective: { max: 0.1 } }, s)
        .measured,
    ).toBe(0);
    expect(one({ indicator: "timeout-rate", objective: { max: 0.1 } }, s).measured).toBe(0.25);
  });
});

describe("phases and links", () => {
  // 0–10 baseline clean, 10–20 fault with 20 % timeouts, 20–30 recovery clean.
  const s = seriesOf([...steady(10, 100), ...steady(10, 80, 20), ...steady(10, 100)]);
  const phases = phasesWithFault(10, 20, 30);

  it("measures baseline, a fault by name, recovery and all", () => {
    const rate = (phase: NonNullable<Slo["scope"]>["phase"]) =>
      one({ indicator: "timeout-rate", scope: { phase }, objective: { max: 0.01 } }, s, phases).measured;
    expect(rate("baseline")).toBe(0);
    expect(rate("fault:edge-latency")).toBe(0.2);
    expect(rate("recovery")).toBe(0);
    expect(rate("all")).toBeCloseTo(200 / 3000, 10);
  });

  it("uses actual phase times: a slot belongs where its middle falls", () => {
    const late = phasesWithFault(10.4, 20.4, 30); // slots 10..19 still (middles 10.5 … 19.5)
    expect(
      one(
        { indicator: "timeout-rate", scope: { phase: "fault:edge-latency" }, objective: { max: 1 } },
        s,
        late,
      ).measured,
    ).toBe(0.2);
    const later = phasesWithFault(10.6, 20.6, 30); // slots 11..20
    expect(
      one(
        { indicator: "timeout-rate", scope: { phase: "fault:edge-latency" }, objective: { max: 1 } },
        s,
        later,
      ).counts,
    ).toEqual({ events: 180, attempts: 1000 });
  });

  it("scopes to the windows of faults on a link", () => {
    const r = one({ indicator: "timeout-rate", scope: { link: "edge" }, objective: { max: 0.1 } }, s, phases);
    expect(r).toMatchObject({ measured: 0.2, status: "fail" });
    expect(
      one({ indicator: "timeout-rate", scope: { link: "hsm" }, objective: { max: 0.1 } }, s, phases),
    ).toMatchObject({
      status: "no-data",
      detail: "no fault on hsm in this run",
    });
  });

  it("has no data for a phase the run does not have", () => {
    expect(
      one({ indicator: "timeout-rate", scope: { phase: "fault:nope" }, objective: { max: 0.1 } }, s, phases),
    ).toMatchObject({
      status: "no-data",
      measured: null,
      margin: null,
      detail: "no fault:nope phase in this run (phases: baseline, fault:edge-latency, recovery)",
    });
  });
});

describe("latency", () => {
  it("takes the percentile of the merged histograms of the scope", () => {
    const seconds: OpSpec[][] = [
      [{ outcome: "approved", count: 90, ms: 10 }],
      [{ outcome: "approved", count: 10, ms: 1000 }],
    ];
    const s = seriesOf(seconds);
    // Averaging per-second p99s would say ~505 ms; the merged p99 of 100 values is 1000 ms, the p50 10 ms.
    expect(one({ indicator: "latency", percentile: "p99", objective: { max: 2000 } }, s).measured).toBe(1000);
    expect(one({ indicator: "latency", percentile: "p50", objective: { max: 2000 } }, s).measured).toBe(10);
    expect(one({ indicator: "latency", percentile: "p95", objective: { max: 500 } }, s)).toMatchObject({
      measured: 1000,
      margin: -500,
      status: "fail",
      detail: "p95 of 100 operation(s)",
    });
    expect(
      one(
        { indicator: "latency", percentile: "p50", scope: { operation: "signin" }, objective: { max: 1 } },
        s,
      ),
    ).toMatchObject({ status: "no-data", detail: "no operations in scope" });
  });
});

describe("worst rolling window", () => {
  // 30 s of 100 ops/s; seconds 12–14 have 10, 30 and 20 timeouts.
  const seconds = steady(30, 100);
  seconds[12] = [
    { outcome: "approved", count: 90 },
    { outcome: "timeout.response", count: 10 },
  ];
  seconds[13] = [
    { outcome: "approved", count: 70 },
    { outcome: "timeout.response", count: 30 },
  ];
  seconds[14] = [
    { outcome: "approved", count: 80 },
    { outcome: "timeout.response", count: 20 },
  ];
  const s = seriesOf(seconds);

  it("finds the worst window of the given length", () => {
    const r = one(
      { indicator: "timeout-rate", scope: { window: { worstOfS: 2 } }, objective: { max: 0.2 } },
      s,
    );
    expect(r).toMatchObject({ measured: 0.25, status: "fail", window: { startS: 13, endS: 15 } });
    expect(r.counts).toEqual({ events: 50, attempts: 200 });
    const whole = one({ indicator: "timeout-rate", objective: { max: 0.2 } }, s);
    expect(whole.measured).toBeCloseTo(60 / 3000, 10);
    const wide = one(
      { indicator: "timeout-rate", scope: { window: { worstOfS: 10 } }, objective: { max: 0.2 } },
      s,
    );
    expect(wide.measured).toBe(60 / 1000);
  });

  it("takes the lowest window for a minimum objective", () => {
    const r = one(
      { indicator: "success-rate", scope: { window: { worstOfS: 1 } }, objective: { min: 0.9 } },
      s,
    );
    expect(r).toMatchObject({ measured: 0.7, status: "fail", window: { startS: 13, endS: 14 } });
  });

  it("skips windows with too few attempts, and counts a short stretch as one window", () => {
    const sparse = seriesOf([[{ outcome: "timeout.response", count: 1 }], ...steady(5, 100)]);
    const r = one(
      {
        indicator: "timeout-rate",
        scope: { window: { worstOfS: 1, minAttempts: 10 } },
        objective: { max: 0.1 },
      },
      sparse,
    );
    expect(r.measured).toBe(0);
    const phases = phasesWithFault(1, 3, 6);
    const short = one(
      {
        indicator: "timeout-rate",
        scope: { phase: "fault:edge-latency", window: { worstOfS: 10 } },
        objective: { max: 0.1 },
      },
      sparse,
      phases,
    );
    expect(short).toMatchObject({ measured: 0, window: { startS: 1, endS: 3 } });
  });

  it("slides a latency histogram (add and subtract) to the same answer as merging each window", () => {
    const lat: OpSpec[][] = Array.from({ length: 20 }, (_, i) => [
      { outcome: "approved", count: 20, ms: 10 + i * 7 },
      { outcome: "approved", count: 1, ms: i === 9 ? 4000 : 50 },
    ]);
    const ls = seriesOf(lat);
    const r = one(
      {
        indicator: "latency",
        percentile: "p99",
        scope: { window: { worstOfS: 3 } },
        objective: { max: 10_000 },
      },
      ls,
    );
    let worst = 0;
    for (let i = 0; i + 3 <= 20; i++) {
      worst = Math.max(worst, percentileMs(latencyOver(ls, [i, i + 1, i + 2]), 99)!);
    }
    expect(r.measured).toBe(worst);
    expect(r.window).toEqual({ startS: 7, endS: 10 });
  });
});

describe("recovery time", () => {
  it("is the time from the clear until the timeout rate over the next window is back within the rate", () => {
    // fault 10–20 s; after the clear, timeouts fade: 20 % at 20–22, 5 % at 23, then none from 24 s on.
    const seconds = [
      ...steady(10, 100),
      ...steady(10, 80, 20),
      ...steady(3, 80, 20),
      ...steady(1, 95, 5),
      ...steady(16, 100),
    ];
    const s = seriesOf(seconds);
    const phases = phasesWithFault(10, 20.3, 40);
    const r = one(
      { indicator: "recovery-time", windowS: 5, withinRate: 0.005, objective: { max: 5 } },
      s,
      phases,
    );
    // First window [s, s+5) with ≤ 0.5 %: s = 24 → 24 − 20.3 = 3.7 s ([23, 28) has 5 of 500 = 1 %).
    expect(r).toMatchObject({ measured: 3.7, status: "pass", unit: "s" });
    expect(r.recoveries).toEqual([
      { fault: "edge-latency", clearedAtS: 20.3, recoveryS: 3.7, observedS: 19.7 },
    ]);
    // A tolerant rate is met at once.
    expect(
      one({ indicator: "recovery-time", withinRate: 0.25, objective: { max: 5 } }, s, phases).measured,
    ).toBe(0);
    expect(
      one(
        { indicator: "recovery-time", withinRate: 0.005, objective: { max: 3 }, warn: { max: 1 } },
        s,
        phases,
      ),
    ).toMatchObject({ status: "fail", margin: expect.closeTo(-0.7, 10) });
    expect(
      one(
        { indicator: "recovery-time", withinRate: 0.005, objective: { max: 5 }, warn: { max: 2 } },
        s,
        phases,
      ).status,
    ).toBe("warn");
  });

  it("takes the worst fault, or the one named", () => {
    const seconds = [
      ...steady(5, 100),
      ...steady(5, 50, 50),
      ...steady(2, 100),
      ...steady(5, 50, 50),
      ...steady(3, 50, 50),
      ...steady(10, 100),
    ];
    const s = seriesOf(seconds);
    const phases: PhaseWindow[] = [
      { name: "baseline", kind: "baseline", startS: 0, endS: 5 },
      { name: "fault:a", kind: "fault", startS: 5, endS: 10, fault: "a", target: "edge", clearedAtS: 10 },
      { name: "recovery", kind: "recovery", startS: 10, endS: 12, fault: "a" },
      { name: "fault:b", kind: "fault", startS: 12, endS: 17, fault: "b", target: "hsm", clearedAtS: 17 },
      { name: "recovery", kind: "recovery", startS: 17, endS: 30, fault: "b" },
    ];
    const worst = one({ indicator: "recovery-time", windowS: 1, objective: { max: 10 } }, s, phases);
    expect(worst.recoveries?.map((r) => r.recoveryS)).toEqual([0, 3]);
    expect(worst.measured).toBe(3);
    expect(
      one(
        { indicator: "recovery-time", windowS: 1, scope: { phase: "fault:a" }, objective: { max: 10 } },
        s,
        phases,
      ).measured,
    ).toBe(0);
    expect(
      one(
        { indicator: "recovery-time", windowS: 1, scope: { link: "hsm" }, objective: { max: 10 } },
        s,
        phases,
      ).measured,
    ).toBe(3);
  });

  it("fails when not recovered by the end of the data, unless the data ended too soon to tell", () => {
    const s = seriesOf([...steady(10, 100), ...steady(20, 50, 50)]);
    const phases = phasesWithFault(5, 10, 30);
    expect(one({ indicator: "recovery-time", objective: { max: 10 } }, s, phases)).toMatchObject({
      status: "fail",
      measured: 20,
    });
    expect(one({ indicator: "recovery-time", objective: { max: 60 } }, s, phases)).toMatchObject({
      status: "no-data",
    });
  });

  it("has no data without faults, or without operations after the clear", () => {
    const s = seriesOf(steady(10, 10));
    expect(one({ indicator: "recovery-time", objective: { max: 5 } }, s, [])).toMatchObject({
      status: "no-data",
      detail: "no fault in scope",
    });
    // Nothing ends after 10 s; a session change at 12 s extends the data.
    const quiet = seriesOf(steady(10, 10), [
      {
        metric: "pos_session_changes",
        timeMs: LOAD_START_MS + 12_500,
        value: 1,
        tags: { change: "signed-out" },
      },
    ]);
    expect(
      one({ indicator: "recovery-time", objective: { max: 5 } }, quiet, phasesWithFault(5, 10.5, 13)),
    ).toMatchObject({
      status: "no-data",
      detail: "no operations after the clear of edge-latency",
    });
  });
});

describe("one-sided transactions", () => {
  const rec = (oneSided: number | null): Reconciliation => ({
    issuerSide: true,
    terminalSide: oneSided === null ? "missing" : "complete",
    issuers: [],
    unsettled: 4,
    reversedAtIssuer: 2,
    notApprovedAtIssuer: 0,
    oneSided,
    first: [],
    ...(oneSided === null ? { note: "no terminal side" } : {}),
  });
  it("judges the reconciliation's count", () => {
    expect(one({ indicator: "one-sided", objective: { max: 0 } }, undefined, [], rec(2))).toMatchObject({
      measured: 2,
      margin: -2,
      status: "fail",
      unit: "count",
    });
    expect(one({ indicator: "one-sided", objective: { max: 0 } }, undefined, [], rec(0)).status).toBe("pass");
    expect(one({ indicator: "one-sided", objective: { max: 0 } }, undefined, [], rec(null))).toMatchObject({
      status: "no-data",
      detail: "no terminal side",
    });
    expect(one({ indicator: "one-sided", objective: { max: 0 } }).status).toBe("no-data");
  });
});

describe("verdict", () => {
  const s = seriesOf(steady(10, 97, 3)); // 3 %
  const slo = (max: number, warn?: number): Slo => ({
    indicator: "timeout-rate",
    objective: { max },
    ...(warn !== undefined ? { warn: { max: warn } } : {}),
  });

  it("warns between the warning level and the objective; warnings never fail", () => {
    const v = evaluate([slo(0.05, 0.02)], s, []);
    expect(v.slos[0]).toMatchObject({ status: "warn", margin: expect.closeTo(0.02, 10) });
    expect(v).toMatchObject({ status: "warn", exitCode: 0 });
    expect(evaluate([slo(0.05, 0.04)], s, [])).toMatchObject({ status: "pass", exitCode: 0 });
    expect(evaluate([slo(0.03)], s, []).slos[0]!.status).toBe("pass"); // equal to the objective meets it
  });

  it("fails when any SLO fails, with exit code 1", () => {
    const v = evaluate(
      [slo(0.05, 0.02), slo(0.01), { indicator: "one-sided", objective: { max: 0 } }],
      s,
      [],
    );
    expect(v.counts).toEqual({ pass: 0, warn: 1, fail: 1, "no-data": 1 });
    expect(v).toMatchObject({ status: "fail", exitCode: 1 });
  });

  it("passes with no SLOs; no-data alone is a warning, not a failure", () => {
    expect(evaluate([], s, [])).toMatchObject({ status: "pass", exitCode: 0, slos: [] });
    expect(evaluate([{ indicator: "one-sided", objective: { max: 0 } }], s, [])).toMatchObject({
      status: "warn",
      exitCode: 0,
    });
  });

  it("names SLOs from indicator and scope, unique within the verdict", () => {
    const v = evaluate(
      [
        {
          indicator: "timeout-rate",
          kind: "response",
          scope: { operation: "purchase", phase: "baseline", window: { worstOfS: 10 } },
          objective: { max: 0.1 },
        },
        slo(0.1),
        slo(0.2),
        { id: "custom", description: "mine", indicator: "error-rate", objective: { max: 1 } },
      ],
      s,
      phasesWithFault(5, 8, 10),
    );
    expect(v.slos.map((r: SloResult) => r.id)).toEqual([
      "timeout-rate response purchase baseline worst-10s",
      "timeout-rate",
      "timeout-rate #2",
      "custom",
    ]);
    expect(v.slos[0]!.description).toBe("purchase response timeout rate, baseline, worst 10 s window");
    expect(v.slos[3]!.description).toBe("mine");
  });

  it("does not change its inputs", () => {
    const series = seriesOf(steady(5, 10, 1));
    const before = JSON.stringify({ ...series, latency: series.latency.purchase!.map((h) => h?.totalCount) });
    evaluate(
      [
        {
          indicator: "latency",
          percentile: "p99",
          scope: { window: { worstOfS: 2 } },
          objective: { max: 1 },
        },
        { indicator: "timeout-rate", objective: { max: 0 } },
      ],
      series,
      [],
    );
    expect(JSON.stringify({ ...series, latency: series.latency.purchase!.map((h) => h?.totalCount) })).toBe(
      before,
    );
    expect(latencyOver(series, allSlots(series)).totalCount).toBe(55);
  });
});

describe("marginTo and validateSlos", () => {
  it("measures the distance to the nearest bound", () => {
    expect(marginTo(3, { max: 5 })).toBe(2);
    expect(marginTo(3, { min: 5 })).toBe(-2);
    expect(marginTo(3, { min: 2, max: 3.5 })).toBe(0.5);
  });

  it("names the path of each problem", () => {
    expect(
      validateSlos([
        { indicator: "timeout-rates", objective: { max: 1 } },
        { indicator: "latency", percentile: "p42", objective: {} },
        {
          indicator: "timeout-rate",
          kind: "dns",
          objective: { max: "1%" },
          scope: { phase: "fault", window: { worstOfS: 0 } },
        },
      ]),
    ).toEqual([
      'slos[0].indicator: "timeout-rates" must be one of timeout-rate, error-rate, success-rate, latency, one-sided, recovery-time',
      'slos[1].percentile: "p42" must be one of p50, p75, p90, p95, p99, p999',
      "slos[1].objective: needs max and/or min",
      'slos[2].kind: "dns" must be connect, response, idle or all',
      'slos[2].objective.max: "1%" is not a number',
      'slos[2].scope.phase: "fault" must be all, baseline, recovery or fault:<name>',
      "slos[2].scope.window.worstOfS: 0 must be a number > 0",
    ]);
    expect(validateSlos(undefined)).toEqual([]);
    expect(validateSlos({})).toEqual(["slos: must be an array"]);
  });
});
