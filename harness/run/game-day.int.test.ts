import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { localProfile } from "../profile/testing/profile-file.ts";
import type { Journal } from "../report/journal.ts";
import { readRunJson } from "../run-folder/index.ts";
import { runProfile } from "./run-profile.ts";
import { runQuietly } from "./testing/run-quietly.ts";

// Game days on the real lab: the steady-state hypothesis checked before the first fault and after the last,
// and an abort condition that stops a run early with every fault cleared.

const journalOf = (runDir: string) =>
  JSON.parse(readFileSync(join(runDir, "journal.json"), "utf8")) as Journal;
const nftTables = () => execFileSync("nft", ["list", "tables"], { encoding: "utf8" });

/** 10 terminals buying every 0.3 s on the local lab, with these terminal settings and top-level keys. */
const gameDayProfile = (name: string, durationS: number, terminal: string, more: string) =>
  localProfile(name, { durationS, terminals: 10, perTerminal: 100, terminal, more });

describe("game days", () => {
  it("an abort condition breached by a fault stops the run early: faults cleared, exit 1, journal aborted", async () => {
    const file = gameDayProfile(
      "abort",
      30,
      `responseTimeoutMs: 1000, connectTimeoutMs: 1000, retry: { policy: "none" }`,
      `
        chaos: [
          { name: "blackhole", at: 4, for: 20, fault: { kind: "timeout", link: "edge", timeoutMs: 0 } },
          { name: "loss", at: 4, for: 20, fault: { kind: "packet-loss", link: "edge", lossPercent: 5 } },
        ],
        gameDay: {
          steadyState: [{ id: "purchases-ok", indicator: "success-rate", scope: { operation: "purchase" }, objective: { min: 0.99 } }],
          abortWhen: [{ kind: "timeout-rate", above: 0.2, forS: 2 }],
        },
    `,
    );
    const { outcome, run, log } = await runQuietly(file);
    expect(outcome.status, log).toBe("aborted");
    expect(outcome.exitCode).toBe(1);
    expect(run.status).toBe("aborted");
    // Stopped within seconds of the breach, long before the 30 s load would have ended
    expect(run.abort!.condition).toBe("timeout rate above 20 % over 2 s");
    expect(run.abort!.atS).toBeGreaterThan(4);
    expect(run.abort!.atS).toBeLessThan(12);
    const loadS = (Date.parse(run.endedAt!) - Date.parse(run.loadStartedAt!)) / 1000;
    expect(loadS).toBeLessThan(25);
    // Every fault cleared by the abort, nothing left in the kernel
    for (const e of run.timeline!.entries!)
      expect([e.name, e.status, e.clearedBy]).toEqual([e.name, "cleared", "abort"]);
    expect(nftTables()).not.toContain("table inet posstorm");
    const journal = journalOf(outcome.runDir);
    expect(journal.verdict).toBe("aborted");
    expect(journal.reason).toMatch(/^stopped at \d+\.\d s: timeout rate above 20 % over 2 s$/);
    expect(journal.hypothesis.before.probes.map((p) => p.status)).toEqual(["pass"]);
    const abortAction = journal.actions.find((a) => a.by === "abort" && a.action === "stop the run")!;
    expect(abortAction.atS).toBe(run.abort!.atS);
    expect(journal.actions.filter((a) => a.action === "clear").map((a) => a.by)).toEqual(["abort", "abort"]);
    expect(readFileSync(join(outcome.runDir, "summary.md"), "utf8")).toMatch(
      /### Journal\n\n\*\*aborted\*\*/,
    );
  });

  it("a fault the switch rides out: the steady state holds before and after, the journal says passed", async () => {
    const file = gameDayProfile(
      "steady",
      9,
      `responseTimeoutMs: 3000`,
      `
        chaos: [{ name: "slow-edge", at: 3, for: 3, fault: { kind: "latency", link: "edge", latencyMs: 100 } }],
        gameDay: {
          steadyState: [{ id: "purchases-ok", indicator: "success-rate", scope: { operation: "purchase" }, objective: { min: 0.99 } }],
          abortWhen: [{ kind: "timeout-rate", above: 0.2, forS: 2 }],
        },
    `,
    );
    const { outcome, run } = await runQuietly(file);
    expect(outcome.status).toBe("completed");
    expect(outcome.exitCode).toBe(0);
    expect(run.abort).toBeUndefined();
    const journal = journalOf(outcome.runDir);
    expect(journal.verdict).toBe("passed");
    expect(journal.hypothesis.before.probes.map((p) => p.status)).toEqual(["pass"]);
    expect(journal.hypothesis.after.probes.map((p) => p.status)).toEqual(["pass"]);
    expect(journal.hypothesis.before.window!.endS).toBeCloseTo(3, 0);
    expect(journal.actions.map((a) => [a.by, a.action, a.name])).toEqual([
      ["planned", "apply", "slow-edge"],
      ["planned", "clear", "slow-edge"],
    ]);
  });

  it("a lab program down, named as an abort condition, stops the run as an abort (exit 1), not a failure", async () => {
    const reports = mkdtempSync(join(tmpdir(), "posstorm-gameday-"));
    const file = gameDayProfile(
      "program-down",
      30,
      `responseTimeoutMs: 2000`,
      `
        gameDay: { abortWhen: [{ kind: "program-down" }] },
    `,
    );
    const running = runProfile({ profile: file, reportsDir: reports, live: false, log: () => undefined });
    const runDir = () => join(reports, readdirSync(reports)[0] ?? "none");
    const deadline = Date.now() + 30_000;
    let pid: number | undefined;
    while (pid === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        const run = readRunJson(runDir());
        const issuer = run.lab?.services.find((s) => s.role === "issuer-a");
        if (run.loadStartedAt && issuer && Date.now() - Date.parse(run.loadStartedAt) > 2_000)
          pid = Number(issuer.id.replace("pid ", ""));
      } catch {
        // run.json not written yet
      }
    }
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");
    const outcome = await running;
    expect(outcome.status).toBe("aborted");
    expect(outcome.exitCode).toBe(1);
    const run = readRunJson(outcome.runDir);
    expect(run.abort).toMatchObject({
      condition: "a lab program down",
      detail: expect.stringMatching(/issuer-a/),
    });
    expect(journalOf(outcome.runDir).verdict).toBe("aborted");
  });
});
