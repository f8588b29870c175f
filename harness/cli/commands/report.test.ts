import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fakeRunFolder } from "../../report/testing/run-folder.ts";
import { steady } from "../../report/testing/series.ts";
import { buildParser } from "../parser.ts";
import { reportRun, resolveRunDir } from "./report.ts";
import { capture, profileWith } from "./testing/io.ts";

// Exit codes are a contract: 0 SLOs met, 1 an SLO breached, 2 harness failure (and the same for compare).

describe("posstorm report", () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it("exits 0 when every SLO is met and 1 when one is breached", async () => {
    const dir = fakeRunFolder({ seconds: steady(10, 99, 1), fault: null });
    const met = capture();
    expect(
      await reportRun({
        runDir: dir,
        profile: profileWith(`[{ indicator: "timeout-rate", objective: { max: 0.02 } }]`),
        ...met.io,
      }),
    ).toBe(0);
    expect(met.out.join("")).toContain("✅ all SLOs met");
    expect(met.out.join("")).toMatch(/verdict pass \(SLOs from options\), exit 0/);
    const breached = capture();
    expect(
      await reportRun({
        runDir: dir,
        profile: profileWith(`[{ indicator: "timeout-rate", objective: { max: 0.005 } }]`),
        quiet: true,
        ...breached.io,
      }),
    ).toBe(1);
    expect(breached.out.join("")).not.toContain("## posstorm");
    expect(breached.out.join("")).toContain("junit.xml");
  });

  it("a warning alone exits 0", async () => {
    const dir = fakeRunFolder({ seconds: steady(10, 99, 1), fault: null });
    const warn = profileWith(
      `[{ indicator: "timeout-rate", objective: { max: 0.02 }, warn: { max: 0.005 } }]`,
    );
    const io = capture();
    expect(await reportRun({ runDir: dir, profile: warn, quiet: true, ...io.io })).toBe(0);
    // a timeout rate of 1 %: over the warning's 0.5 %, under the objective's 2 %
    expect(io.out.join("")).toMatch(/verdict warn \(SLOs from options\), exit 0/);
    const verdict = JSON.parse(readFileSync(join(dir, "verdict.json"), "utf8")) as {
      status: string;
      exitCode: number;
      slos: { status: string }[];
    };
    expect([verdict.status, verdict.exitCode, verdict.slos.map((slo) => slo.status)]).toEqual([
      "warn",
      0,
      ["warn"],
    ]);
  });

  it("exits 2 on a harness failure: no run folder, no run.json, a run that failed", async () => {
    const missing = capture();
    expect(await reportRun({ runDir: join(tmpdir(), "posstorm-no-such-run"), ...missing.io })).toBe(2);
    expect(missing.err.join("")).toMatch(/^posstorm report: .*no such run folder/);
    expect(await reportRun({ runDir: mkdtempSync(join(tmpdir(), "posstorm-empty-")), ...capture().io })).toBe(
      2,
    );
    const failed = fakeRunFolder({ seconds: steady(3, 1), fault: null, status: "failed" });
    const io = capture();
    expect(await reportRun({ runDir: failed, quiet: true, ...io.io })).toBe(2);
    expect(io.err.join("")).toContain("the run itself failed");
  });

  it("is wired into the CLI and finds a run id under the reports folder", async () => {
    const dir = fakeRunFolder({ seconds: steady(3, 5), fault: null });
    expect(resolveRunDir(basename(dir), dirname(dir))).toBe(dir);
    expect(resolveRunDir(dir)).toBe(dir);
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      await buildParser(["report", dir, "--quiet"]).parseAsync();
    } finally {
      process.stdout.write = write;
    }
    expect(process.exitCode).toBe(0);
  });
});
