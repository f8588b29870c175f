import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { profileFile } from "../profile/testing/profile-file.ts";
import { runTimeouts } from "./timeouts.ts";

// `posstorm timeouts` on the reference lab. The inverted chain of the issue: terminal 2 s < switch issuer timeout
// 5 s, issuer p99 3 s; terminals buy once and go quiet (no later transaction carries their reversal), and the
// network hides a terminal's hang-up from the switch (slow_close upstream on edge), so the switch believes it
// delivered a late approval. One-sided transactions must show in exactly the inverted cell.

const chain = (terminalMs: number) => `{
  name: "chain-${terminalMs}",
  durationS: 8,
  lab: {
    runtime: "containers",
    issuers: { a: { medianMs: 1500, p99Ms: 3000 }, b: { medianMs: 1500, p99Ms: 3000 } },
    switch: { issuerTimeoutMs: 5000 },
  },
  terminal: { responseTimeoutMs: ${terminalMs}, connectTimeoutMs: 2000, cards: [{ pan: "6222020000000001234", weight: 1 }] },
  fleet: {
    model: "population",
    terminals: 40,
    signIn: { curve: "uniform", windowS: 2 },
    purchases: { perTerminal: 1, thinkTimeS: { mean: 1, jitter: 0.5 } },
  },
  chaos: [
    { name: "hidden-hang-up", at: 0, for: 8, fault: { kind: "slow_close", link: "edge", delayMs: 60000, direction: "upstream" } },
  ],
  slos: [
    { id: "one-sided", indicator: "one-sided", objective: { max: 0 } },
    { id: "purchase-success", indicator: "success-rate", scope: { operation: "purchase" }, objective: { min: 0.9 } },
  ],
}`;

const reports = () => mkdtempSync(join(tmpdir(), "posstorm-timeouts-"));

describe("posstorm timeouts", () => {
  it("flags the inverted chain statically, and the matrix shows one-sided transactions in exactly the inverted cell", async () => {
    const result = await runTimeouts({
      profile: profileFile("inverted", chain(2000)),
      reportsDir: reports(),
      terminalMs: [2000, 8000],
      switchMs: [1000, 5000],
      log: () => undefined,
    });
    const rule = result.findings.find((f) => f.rule === "terminal-exceeds-switch-budget")!;
    expect(rule.status).toBe("fail");
    expect(Object.values(rule.values)).toEqual(expect.arrayContaining([2000, 5000]));
    expect(result.cells).toHaveLength(4);
    for (const cell of result.cells) {
      expect(cell.status, cell.dir).not.toBe("error");
      expect(cell.inverted, cell.dir).toBe(cell.terminalMs === 2000 && cell.switchMs === 5000);
      if (cell.inverted) expect(cell.oneSided, cell.dir).toBeGreaterThan(0);
      else expect(cell.oneSided, cell.dir).toBe(0);
    }
    // The switch timing out first answers 98 and reverses upstream: no one-sided, but purchases fail.
    const shortSwitch = result.cells.find((c) => c.terminalMs === 8000 && c.switchMs === 1000)!;
    expect(shortSwitch.switchTimeouts).toBeGreaterThan(0);
    expect(result.recommended).toMatchObject({ terminalMs: 8000, switchMs: 5000, oneSided: 0 });
    // The profile's own chain fails a rule: exit 1, said in every output.
    expect(result.verdict).toMatchObject({ status: "fail", exitCode: 1 });
    for (const file of ["timeouts.json", "summary.md", "verdict.json", "junit.xml", "report.html"]) {
      expect(existsSync(join(result.dir, file)), file).toBe(true);
    }
    const summary = readFileSync(join(result.dir, "summary.md"), "utf8");
    expect(summary).toContain("terminal-exceeds-switch-budget");
    expect(summary).toMatch(/One-sided transactions/);
    expect(readFileSync(join(result.dir, "junit.xml"), "utf8")).toMatch(
      /name="terminal-exceeds-switch-budget"><failure/,
    );
    expect(readFileSync(join(result.dir, "report.html"), "utf8")).toContain("hsl(");
  });

  it("passes the correct chain statically (no runs with --static-only) and shows no one-sided in its own cell", async () => {
    const staticOnly = await runTimeouts({
      profile: profileFile("correct", chain(8000)),
      reportsDir: reports(),
      staticOnly: true,
      log: () => undefined,
    });
    expect(staticOnly.findings.find((f) => f.rule === "terminal-exceeds-switch-budget")?.status).toBe("ok");
    expect(staticOnly.findings.some((f) => f.status === "fail")).toBe(false);
    expect(staticOnly.cells).toHaveLength(0);
    expect(staticOnly.verdict.exitCode).toBe(0);
    const own = await runTimeouts({
      profile: profileFile("correct", chain(8000)),
      reportsDir: reports(),
      terminalMs: [8000],
      switchMs: [5000],
      log: () => undefined,
    });
    expect(own.cells[0]).toMatchObject({ inverted: false, oneSided: 0, status: "pass" });
    expect(own.verdict).toMatchObject({ status: "pass", exitCode: 0 });
  });
});
