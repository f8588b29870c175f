import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { listManaged } from "../lab/runtime/containers.ts";
import { profileFile } from "../profile/testing/profile-file.ts";
import { readLedgers } from "../report/testing/ledgers.ts";
import { runProfile } from "../run/run-profile.ts";
import { REPO_ROOT } from "../shared/repo.ts";

// `posstorm run` end to end: the smoke profile on the real lab, a refused remote target, and Ctrl-C.

const reports = () => mkdtempSync(join(tmpdir(), "posstorm-run-"));

const readRun = (runDir: string) => JSON.parse(readFileSync(join(runDir, "run.json"), "utf8"));

describe("posstorm run", () => {
  it("runs the smoke profile on the reference lab and leaves a complete run folder", async () => {
    const outcome = await runProfile({
      profile: "smoke",
      reportsDir: reports(),
      live: false,
      log: () => undefined,
    });
    expect(outcome).toMatchObject({ status: "completed", exitCode: 0 });
    for (const file of [
      "run.json",
      "plan.json",
      "lab.json",
      "samples.ndjson.gz",
      "fleet-watch.json",
      "logs/switch.log",
      // what CI consumes and people read
      "series.json",
      "verdict.json",
      "summary.md",
      "junit.xml",
      "report.html",
    ]) {
      expect(existsSync(join(outcome.runDir, file)), file).toBe(true);
    }
    expect(readdirSync(join(outcome.runDir, "collected"))).toEqual(
      expect.arrayContaining(["issuer-a.ledger.ndjson.gz", "switch.metrics.prom"]),
    );
    const run = readRun(outcome.runDir);
    expect(run.status).toBe("completed");
    expect(run.outcomes.byOutcome.signin.approved).toBe(50);
    // Every purchase made was approved; on a loaded machine the last few may not start before the load ends.
    expect(run.outcomes.byOutcome.purchase.approved).toBe(run.outcomes.total.purchase);
    expect(run.outcomes.byOutcome.purchase.approved).toBeGreaterThanOrEqual(180);
    // The issuers' ledgers, streamed gzipped into collected/, hold every approval; the report tallied them.
    const entries = (await readLedgers(outcome.runDir)).flatMap((l) => l.entries);
    const approvedAtIssuers = entries.filter((e) => e.status === "approved").length;
    expect(approvedAtIssuers).toBeGreaterThanOrEqual(run.outcomes.byOutcome.purchase.approved);
    const verdict = JSON.parse(readFileSync(join(outcome.runDir, "verdict.json"), "utf8"));
    expect(
      (verdict.reconciliation.issuers as { approved: number }[]).reduce((sum, i) => sum + i.approved, 0),
    ).toBe(approvedAtIssuers);
    const fault = run.timeline.entries[0];
    expect(fault).toMatchObject({ name: "edge-latency", status: "cleared", clearedBy: "schedule" });
    expect(fault.appliedAt.sinceStartS).toBeGreaterThanOrEqual(9.5);
    expect(fault.appliedAt.sinceStartS).toBeLessThan(11.5);
    expect(fault.clearedAt.sinceStartS - fault.appliedAt.sinceStartS).toBeGreaterThan(9);
    // plan.json is the compiled run: the fleet's plan with the lab's address, the timeline and its phases, the
    // SLOs; run.json holds facts only
    const plan = JSON.parse(readFileSync(join(outcome.runDir, "plan.json"), "utf8"));
    expect(plan.phases.map((p: { name: string }) => p.name)).toEqual([
      "baseline",
      "fault:edge-latency",
      "recovery",
    ]);
    expect(plan.timeline.map((e: { name: string }) => e.name)).toEqual(["edge-latency"]);
    expect(plan.target).toEqual(run.lab.edge);
    expect(plan.slos.length).toBeGreaterThan(0);
    expect(verdict.slos).toHaveLength(plan.slos.length);
    expect(run.phases).toBeUndefined();
    expect(run.slos).toBeUndefined();
  });

  it("a switch too slow for the open model's arrivals: drops counted exactly, the run marked generator-limited", async () => {
    // The HSM serves 2 sign-ins a second; 20 arrivals a second on at most 3 busy terminals must drop most.
    const file = profileFile(
      "drops",
      `{ name: "drops", durationS: 4, lab: { runtime: "containers", hsm: { capacityPerSecond: 2 } },
         terminal: { count: 20, responseTimeoutMs: 3000, retry: { policy: "none" } },
         fleet: { model: "open", operation: "signin", stages: [{ durationS: 4, ratePerS: 20 }], maxVUs: 3,
                  terminals: 20 } }`,
    );
    const lines: string[] = [];
    const outcome = await runProfile({ profile: file, reportsDir: reports(), log: (l) => lines.push(l) });
    expect(outcome.status, outcome.error).toBe("completed");
    const run = readRun(outcome.runDir);
    const samples = gunzipSync(readFileSync(join(outcome.runDir, "samples.ndjson.gz")))
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const droppedLines = samples.filter((s) => s.ev === "dropped").length;
    const signIns = samples.filter((s) => s.ev === undefined && s.op === "signin").length;
    // Every one of the 80 arrivals either ran or was dropped; most were dropped.
    expect(droppedLines + signIns).toBe(80);
    expect(droppedLines).toBeGreaterThan(40);
    expect(run.outcomes.dropped).toBe(droppedLines);
    expect(run.fleet.watch.dropped).toBe(droppedLines);
    expect(run.fleet.generator.limited).toBe(true);
    expect(run.fleet.generator.reasons[0].text).toMatch(new RegExp(`^${droppedLines} arrivals dropped`));
    expect(lines.some((l) => l.startsWith("generator-limited:"))).toBe(true);
    // Every output says so.
    expect(readFileSync(join(outcome.runDir, "summary.md"), "utf8")).toMatch(/generator-limited/);
    const verdict = JSON.parse(readFileSync(join(outcome.runDir, "verdict.json"), "utf8"));
    expect(verdict.generator.limited).toBe(true);
    expect(readFileSync(join(outcome.runDir, "junit.xml"), "utf8")).toMatch(
      /<testcase[^>]*name="generator kept up"[^>]*>\s*<failure[^>]*type="generator-limited"/,
    );
    expect(readFileSync(join(outcome.runDir, "report.html"), "utf8")).toContain("GENERATOR-LIMITED");
  });

  it("refuses a target outside 127.0.0.0/8 before sending anything", async () => {
    const file = profileFile(
      "remote",
      `{ name: "remote", durationS: 5, target: { host: "10.1.2.3", port: 9000 },
         fleet: { model: "population", terminals: 1, vus: 1, signIn: { curve: "uniform", windowS: 1 },
                  purchases: { perTerminal: 0, thinkTimeS: { mean: 0, jitter: 0 } } } }`,
    );
    const outcome = await runProfile({
      profile: file,
      reportsDir: reports(),
      live: false,
      log: () => undefined,
    });
    expect(outcome).toMatchObject({ status: "failed", exitCode: 2 });
    expect(outcome.error).toMatch(/10\.1\.2\.3 is outside 127\.0\.0\.0\/8.*--allow-remote/);
    expect(existsSync(join(outcome.runDir, "samples.ndjson.gz"))).toBe(false);
  });

  it("a lab program that dies mid-run stops the run: faults cleared, lab removed, partial report, exit 2", async () => {
    const dir = reports();
    const file = profileFile(
      "crash",
      `{ name: "crash", durationS: 40, lab: { runtime: "containers" },
         fleet: { model: "population", terminals: 10, vus: 1, signIn: { curve: "uniform", windowS: 2 },
                  purchases: { perTerminal: 40, thinkTimeS: { mean: 1, jitter: 0 } } },
         chaos: [{ name: "slow-edge", at: 1, for: 35, fault: { kind: "latency", link: "edge", latencyMs: 50 } }] }`,
    );
    const lines: string[] = [];
    const running = runProfile({ profile: file, reportsDir: dir, live: false, log: (l) => lines.push(l) });
    // Kill the switch from outside once the load runs.
    let killed = "";
    for (let i = 0; i < 100 && !killed; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sw = (await listManaged()).find((c) => c.role === "switch" && c.session.startsWith("crash-"));
      if (sw && lines.some((l) => l.startsWith("lab up:"))) {
        await new Promise((resolve) => setTimeout(resolve, 4_000));
        execFileSync("docker", ["kill", sw.id]);
        killed = sw.session;
      }
    }
    const outcome = await running;
    expect(killed).not.toBe("");
    expect(outcome).toMatchObject({ status: "failed", exitCode: 2 });
    expect(outcome.error).toMatch(
      /lab program ended during the run: switch \(container exited with code 137\)/,
    );
    const run = readRun(outcome.runDir);
    expect(run.status).toBe("failed");
    expect(run.error).toBe(outcome.error);
    expect(run.timeline.entries[0]).toMatchObject({
      name: "slow-edge",
      status: "cleared",
      clearedBy: "abort",
    });
    // What was measured before the crash is reported; nothing of the lab is left.
    expect(existsSync(join(outcome.runDir, "report.html"))).toBe(true);
    expect(readFileSync(join(outcome.runDir, "summary.md"), "utf8")).toMatch(/failed/i);
    expect(existsSync(join(outcome.runDir, "collected", "issuer-a.ledger.ndjson.gz"))).toBe(true);
    expect((await listManaged()).filter((c) => c.session === killed)).toEqual([]);
  });

  it("Ctrl-C mid-run clears the fault, stops the lab, keeps what was collected and exits 2", async () => {
    const dir = reports();
    const file = profileFile(
      "interrupted",
      `{ name: "interrupted", durationS: 60, lab: { runtime: "containers" },
         fleet: { model: "population", terminals: 20, vus: 1, signIn: { curve: "uniform", windowS: 2 },
                  purchases: { perTerminal: 50, thinkTimeS: { mean: 1, jitter: 0 } } },
         chaos: [{ name: "slow-edge", at: 2, for: 50, fault: { kind: "latency", link: "edge", latencyMs: 100 } }] }`,
    );
    const child = spawn(join(REPO_ROOT, "bin/posstorm"), ["run", file, "--reports-dir", dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
      // interrupt once the fault window has begun
      if (!sent && /fault:slow-edge/.test(output)) {
        sent = true;
        setTimeout(() => child.kill("SIGINT"), 1_000);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(sent, output).toBe(true);
    expect(code).toBe(2);
    const runDir = join(dir, readdirSync(dir)[0]!);
    const run = readRun(runDir);
    expect(run.status).toBe("interrupted");
    expect(run.timeline.entries[0]).toMatchObject({ status: "cleared", clearedBy: "abort" });
    expect(existsSync(join(runDir, "collected", "switch.metrics.prom"))).toBe(true);
    expect((await listManaged()).filter((c) => c.session === run.runId)).toEqual([]);
  });
});
