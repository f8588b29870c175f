import { describe, expect, it } from "vitest";
import { compareRuns, compareStats, parseThresholds, thresholdsOf } from "./compare.ts";
import { renderComparisonMarkdown, renderComparisonText } from "./render/compare.ts";
import type { OpStats } from "./stats.ts";
import { fakeRunFolder } from "./testing/run-folder.ts";
import { steady } from "./testing/series.ts";

const stats = (operation: string, over: Partial<OpStats> = {}): OpStats => ({
  operation,
  attempts: 1000,
  opsPerS: 100,
  timeouts: 10,
  timeoutRate: 0.01,
  timeoutRateByKind: { connect: 0, response: 0.01, idle: 0 },
  errorRate: 0.002,
  successRate: 0.98,
  latencyMs: { p50: 20, p95: 80, p99: 200, max: 900 },
  ...over,
});

describe("parseThresholds", () => {
  it("reads metric=percent, per operation too, several per argument", () => {
    expect(parseThresholds(["timeoutRate=10", "purchase.p99=20%,throughput=5"])).toEqual([
      { metric: "timeoutRate", maxRegressionPct: 10 },
      { metric: "purchase.p99", maxRegressionPct: 20 },
      { metric: "throughput", maxRegressionPct: 5 },
    ]);
    expect(() => parseThresholds(["p98=10"])).toThrow(
      "--max-regression p98=10: p98 is not one of timeoutRate, errorRate, p50, p95, p99, throughput",
    );
    expect(() => parseThresholds(["p99"])).toThrow("expected <metric>=<percent>");
    expect(thresholdsOf({ maxRegressionPct: { errorRate: 50 } })).toEqual([
      { metric: "errorRate", maxRegressionPct: 50 },
    ]);
    expect(thresholdsOf(undefined)).toEqual([]);
  });
});

describe("compareStats", () => {
  const base = [stats("all"), stats("purchase"), stats("signin")];

  it("flags regressions beyond their threshold: higher rates and latency, lower throughput", () => {
    const current = [
      stats("all", { timeoutRate: 0.0115, opsPerS: 90 }),
      stats("purchase", { latencyMs: { p50: 20, p95: 80, p99: 260, max: 900 } }),
      stats("signin", { latencyMs: { p50: 20, p95: 80, p99: 230, max: 900 } }),
    ];
    const { rows, status } = compareStats(
      base,
      current,
      parseThresholds(["timeoutRate=10", "p99=20", "signin.p99=10", "throughput=5"]),
    );
    const row = (op: string, metric: string) => rows.find((r) => r.operation === op && r.metric === metric)!;
    expect(row("all", "timeoutRate")).toMatchObject({
      changePct: expect.closeTo(15, 6),
      status: "regressed",
      maxRegressionPct: 10,
    });
    expect(row("all", "throughput")).toMatchObject({
      changePct: -10,
      regressionPct: 10,
      status: "regressed",
    });
    expect(row("purchase", "p99")).toMatchObject({
      changePct: 30,
      status: "regressed",
      maxRegressionPct: 20,
    });
    // signin.p99=10 wins over p99=20 for signin: +15 % is a regression there
    expect(row("signin", "p99")).toMatchObject({ changePct: 15, status: "regressed", maxRegressionPct: 10 });
    expect(row("purchase", "p95")).toMatchObject({ changePct: 0, status: "ok" });
    expect(status).toBe("fail");
    expect(compareStats(base, base, parseThresholds(["p99=0"])).status).toBe("pass");
  });

  it("treats tiny absolute changes as noise, even from zero", () => {
    const zero = [stats("all", { timeoutRate: 0 })];
    const { rows } = compareStats(
      zero,
      [stats("all", { timeoutRate: 0.0005 })],
      parseThresholds(["timeoutRate=10"]),
    );
    expect(rows[0]).toMatchObject({ changePct: Infinity, status: "ok" });
    const worse = compareStats(
      zero,
      [stats("all", { timeoutRate: 0.01 })],
      parseThresholds(["timeoutRate=10"]),
    );
    expect(worse.rows[0]!.status).toBe("regressed");
  });

  it("marks operations one run lacks as n/a", () => {
    const { rows, status } = compareStats(base, [stats("all")], parseThresholds(["p99=1"]));
    expect(rows.filter((r) => r.operation === "purchase").every((r) => r.status === "n/a")).toBe(true);
    expect(status).toBe("pass");
  });
});

describe("compareRuns", () => {
  it("compares two run folders and renders the table", async () => {
    const base = fakeRunFolder({ seconds: steady(10, 100, 0, 20), fault: null });
    const current = fakeRunFolder({ seconds: steady(10, 95, 5, 40), fault: null });
    const c = await compareRuns(base, current, parseThresholds(["timeoutRate=10", "p50=50"]));
    expect(c).toMatchObject({ status: "fail", exitCode: 1 });
    const row = (metric: string) => c.rows.find((r) => r.operation === "purchase" && r.metric === metric)!;
    expect(row("p50")).toMatchObject({ base: 20, current: 40, status: "regressed" });
    expect(row("timeoutRate")).toMatchObject({ base: 0, current: 0.05, status: "regressed" });
    expect(row("throughput")).toMatchObject({ base: 100, current: 100, status: "ok" });
    const text = renderComparisonText(c);
    expect(text).toMatch(/purchase\s+p50\s+20 ms\s+40 ms\s+\+100 %\s+50 %\s+REGRESSED/);
    expect(text).toContain("FAIL: 4 regression(s) beyond their threshold");
    expect(renderComparisonMarkdown(c)).toContain(
      "| purchase | timeoutRate | 0 % | 5 % | +∞ % | 10 % | REGRESSED |",
    );
  });
});
