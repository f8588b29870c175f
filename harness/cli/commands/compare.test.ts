import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fakeRunFolder } from "../../report/testing/run-folder.ts";
import { steady } from "../../report/testing/series.ts";
import { compareCommandRun, mergeThresholds } from "./compare.ts";
import { capture } from "./testing/io.ts";

// Exit codes: 0 no regression beyond a threshold, 1 a regression, 2 a run folder or argument that is wrong.

describe("posstorm compare", () => {
  it("exits 1 on a regression beyond a threshold, 0 otherwise, 2 for a missing run", async () => {
    const base = fakeRunFolder({ seconds: steady(5, 100, 0, 20), fault: null });
    const current = fakeRunFolder({ seconds: steady(5, 100, 0, 25), fault: null });
    const ok = capture();
    expect(
      await compareCommandRun({ baseDir: base, currentDir: current, maxRegression: ["p50=30"], ...ok.io }),
    ).toBe(0);
    expect(ok.out.join("")).toContain("pass: no regression beyond its threshold");
    const bad = capture();
    expect(
      await compareCommandRun({
        baseDir: base,
        currentDir: current,
        maxRegression: ["purchase.p50=10"],
        format: "md",
        ...bad.io,
      }),
    ).toBe(1);
    expect(bad.out.join("")).toContain("| purchase | p50 | 20 ms | 25 ms | +25 % | 10 % | REGRESSED |");
    const json = capture();
    await compareCommandRun({ baseDir: base, currentDir: current, format: "json", ...json.io });
    expect(JSON.parse(json.out.join(""))).toMatchObject({ status: "pass", exitCode: 0 });
    const missing = capture();
    expect(
      await compareCommandRun({
        baseDir: join(tmpdir(), "posstorm-nope"),
        currentDir: current,
        ...missing.io,
      }),
    ).toBe(2);
    expect(
      await compareCommandRun({
        baseDir: base,
        currentDir: current,
        maxRegression: ["p42=1"],
        ...capture().io,
      }),
    ).toBe(2);
  });

  it("applies the thresholds the current run recorded from its profile unless the command line sets the same metric", async () => {
    const base = fakeRunFolder({ seconds: steady(5, 100, 0, 20), fault: null });
    const current = fakeRunFolder({
      seconds: steady(5, 100, 0, 40),
      fault: null,
      run: { profile: { name: "p" }, compare: { maxRegressionPct: { p50: 50 } } },
    });
    expect(await compareCommandRun({ baseDir: base, currentDir: current, ...capture().io })).toBe(1); // p50 +100 % > 50 %
    expect(
      await compareCommandRun({
        baseDir: base,
        currentDir: current,
        maxRegression: ["p50=150"],
        ...capture().io,
      }),
    ).toBe(0);
    expect(
      await compareCommandRun({
        baseDir: base,
        currentDir: current,
        profileThresholds: false,
        ...capture().io,
      }),
    ).toBe(0);
    expect(
      mergeThresholds(
        [
          { metric: "p50", maxRegressionPct: 50 },
          { metric: "p99", maxRegressionPct: 5 },
        ],
        [{ metric: "p50", maxRegressionPct: 150 }],
      ),
    ).toEqual([
      { metric: "p99", maxRegressionPct: 5 },
      { metric: "p50", maxRegressionPct: 150 },
    ]);
  });
});
