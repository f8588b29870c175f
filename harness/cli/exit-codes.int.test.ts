import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { OutcomeCounts } from "../fleet/index.ts";
import { listManaged } from "../lab/runtime/containers.ts";
import type { Reconciliation } from "../report/index.ts";
import { readLedgers } from "../report/testing/ledgers.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import type { LedgerEntry } from "../sim/issuer/ledger.ts";

// Exit codes are a contract CI gates on: each one from the real `bin/posstorm run` process on the real lab.
//
// 1 and 0 come from reconciliation. The switch's issuer timeout (10 s) is longer than the issuers' latency
// (3 s), which is longer than the terminals' response timeout (1 s): every purchase times out at the
// terminal and is approved at the issuer. The reference switch reverses an approval whose terminal has hung
// up, so the edge also hides the hang-up (slow_close upstream: the switch sees the connection open and
// delivers the approval into it). Only the terminal's own 0400 can then undo the sale:
//   1 — each terminal buys once and stops: its reversal stays owed, every approval is one-sided;
//   0 — each terminal buys again once the faults are gone: the owed reversal goes first and settles.
// 2 — the switch rejects a setting at start: the run fails before any load.

const define = JSON.stringify(join(REPO_ROOT, "harness/profile/define.ts"));
const TERMINALS = 6;
/** BIN 62 routes to issuer a, 4 to issuer b. */
const CARDS = ["6222020000000001234", "4111111111111111"];
/** A test card anywhere in text, also grouped by spaces or hyphens. */
const fullPan = new RegExp(CARDS.map((pan) => pan.split("").join("[\\s-]?")).join("|"));

interface CliRun {
  code: number | null;
  output: string;
  runDir: string;
  /** What the run appended to $GITHUB_STEP_SUMMARY ("" when nothing). */
  stepSummary: string;
}

/** `bin/posstorm run <profile>` as CI calls it, the profile written to a temporary file. */
async function posstormRun(profile: { name: string } & Record<string, unknown>): Promise<CliRun> {
  const dir = mkdtempSync(join(tmpdir(), `posstorm-exit-${profile.name}-`));
  const file = join(dir, `${profile.name}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from ${define};\nexport default defineProfile(${JSON.stringify(profile)} as never);\n`,
  );
  const reports = join(dir, "reports");
  // As in a CI job that collects step summaries.
  const stepSummaryFile = join(dir, "step-summary.md");
  const child = spawn(join(REPO_ROOT, "bin/posstorm"), ["run", file, "--reports-dir", reports, "--quiet"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, GITHUB_STEP_SUMMARY: stepSummaryFile },
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  const runs = existsSync(reports) ? readdirSync(reports) : [];
  expect(runs, output).toHaveLength(1);
  const stepSummary = existsSync(stepSummaryFile) ? readFileSync(stepSummaryFile, "utf8") : "";
  return { code, output, runDir: join(reports, runs[0]!), stepSummary };
}

function misconfigured(
  name: string,
  { durationS, perTerminal, thinkS, faultsForS }: Record<string, number>,
): { name: string } & Record<string, unknown> {
  const forS = faultsForS ?? durationS;
  return {
    name,
    durationS,
    lab: { runtime: "containers", switch: { issuerTimeoutMs: 10_000 } },
    terminal: {
      responseTimeoutMs: 1_000,
      connectTimeoutMs: 1_000,
      cards: CARDS.map((pan) => ({ pan, weight: 1 })),
    },
    fleet: {
      model: "population",
      terminals: TERMINALS,
      vus: 1,
      signIn: { curve: "uniform", windowS: 1 },
      purchases: { perTerminal, thinkTimeS: { mean: thinkS, jitter: 0 } },
    },
    chaos: [
      ...["issuer-a", "issuer-b"].map((link) => ({
        name: `slow-${link}`,
        at: 0,
        for: forS,
        fault: { kind: "latency", link, latencyMs: 3_000 },
      })),
      {
        name: "hidden-hang-up",
        at: 0,
        for: forS,
        fault: { kind: "slow_close", link: "edge", delayMs: 60_000, direction: "upstream" },
      },
    ],
    slos: [{ id: "one-sided", indicator: "one-sided", objective: { max: 0 } }],
  };
}

const readJson = (runDir: string, file: string) => JSON.parse(readFileSync(join(runDir, file), "utf8"));

/** Every entry of the issuers' ledgers in collected/. */
async function ledgerEntries(runDir: string): Promise<LedgerEntry[]> {
  const ledgers = await readLedgers(runDir);
  expect(ledgers.map((l) => l.issuer)).toEqual(["issuer-a", "issuer-b"]);
  return ledgers.flatMap((l) => l.entries);
}

const key = (t: { tid: string; stan: string; batch: string }) => `${t.tid}|${t.stan}|${t.batch}`;

interface SloJson {
  id: string;
  status: string;
  measured: number | null;
  objective: { max?: number };
}

async function leftContainers(session: string) {
  return (await listManaged()).filter((c) => c.session === session);
}

describe("posstorm run exit codes", () => {
  it("1: approvals the terminals never saw and never reversed breach the one-sided SLO", async () => {
    const { code, output, runDir, stepSummary } = await posstormRun(
      misconfigured("one-sided", { durationS: 12, perTerminal: 1, thinkS: 2 }),
    );
    expect(code, output).toBe(1);
    // The CI job's step summary gets the verdict table.
    expect(stepSummary).toBe(`${readFileSync(join(runDir, "summary.md"), "utf8")}\n`);
    expect(stepSummary.split("\n")[0]).toMatch(/❌ SLO breached/);
    const run = readJson(runDir, "run.json");
    expect(run.status).toBe("completed");
    const outcomes = run.outcomes as OutcomeCounts;
    expect(outcomes.byOutcome.purchase.approved).toBe(0);
    expect(outcomes.byOutcome.purchase["timeout.response"]).toBe(TERMINALS);
    expect(outcomes.reversals).toMatchObject({ queued: TERMINALS, settled: 0, abandoned: 0 });

    // The issuers' side alone: no terminal saw an approval, so each approval never reversed is one-sided.
    const approved = (await ledgerEntries(runDir)).filter(
      (e) => e.status === "approved" && e.reversedAt === undefined,
    );
    expect(approved).toHaveLength(TERMINALS);

    const verdict = readJson(runDir, "verdict.json");
    expect(verdict).toMatchObject({ status: "fail", exitCode: 1 });
    const slo = (verdict.slos as SloJson[]).find((s) => s.id === "one-sided");
    expect(slo).toMatchObject({ status: "fail", measured: approved.length, objective: { max: 0 } });
    const rec = verdict.reconciliation as Reconciliation;
    expect(rec).toMatchObject({
      issuerSide: true,
      terminalSide: "complete",
      unsettled: TERMINALS,
      oneSided: approved.length,
      reversedAtIssuer: 0,
      notApprovedAtIssuer: 0,
    });
    expect(rec.first.map(key).sort()).toEqual(approved.map(key).sort());
    for (const t of rec.first) {
      expect(t.pan).toMatch(/^(6222 02|4111 11)\*\* \*{4} \**\d ?\d{3}$/);
      expect(t.terminalReason).toBe("98");
    }
    for (const file of ["verdict.json", "summary.md", "report.html", "junit.xml"]) {
      expect(readFileSync(join(runDir, file), "utf8"), file).not.toMatch(fullPan);
    }

    const junit = readFileSync(join(runDir, "junit.xml"), "utf8");
    const testcase = /<testcase [^>]*name="one-sided"[^>]*>([\s\S]*?)<\/testcase>/.exec(junit)?.[1];
    expect(testcase, junit).toMatch(
      new RegExp(
        `<failure message="[^"]*measured ${approved.length}, objective ≤ 0, margin −${approved.length}"`,
      ),
    );
    expect(await leftContainers(run.runId)).toEqual([]);
  });

  it("0: the owed reversals arrive once the faults clear: no one-sided, the SLO met", async () => {
    const { code, output, runDir } = await posstormRun(
      misconfigured("reversed", { durationS: 16, perTerminal: 2, thinkS: 5, faultsForS: 8 }),
    );
    expect(code, output).toBe(0);
    const run = readJson(runDir, "run.json");
    const outcomes = run.outcomes as OutcomeCounts;
    const queued = outcomes.reversals.queued;
    expect(queued).toBe(TERMINALS);
    expect(outcomes.reversals).toMatchObject({ settled: queued, abandoned: 0 });
    expect(outcomes.byOutcome.purchase.approved).toBe(TERMINALS);

    const entries = await ledgerEntries(runDir);
    expect(entries.filter((e) => e.status === "reversed")).toHaveLength(queued);
    expect(entries.filter((e) => e.status === "approved")).toHaveLength(outcomes.byOutcome.purchase.approved);

    const verdict = readJson(runDir, "verdict.json");
    expect(verdict).toMatchObject({ status: "pass", exitCode: 0 });
    expect((verdict.slos as SloJson[]).find((s) => s.id === "one-sided")).toMatchObject({
      status: "pass",
      measured: 0,
    });
    expect(verdict.reconciliation).toMatchObject({
      terminalSide: "complete",
      unsettled: queued,
      reversedAtIssuer: queued,
      oneSided: 0,
      first: [],
    });
    expect(await leftContainers(run.runId)).toEqual([]);
  });

  it("2: a switch that rejects its settings at start fails the run, keeps the run folder, leaves no containers", async () => {
    const { code, output, runDir } = await posstormRun({
      name: "broken-lab",
      durationS: 5,
      lab: { runtime: "containers", switch: { macAlgorithm: "des-cbc" } },
      fleet: {
        model: "population",
        terminals: 2,
        vus: 1,
        signIn: { curve: "uniform", windowS: 1 },
        purchases: { perTerminal: 1, thinkTimeS: { mean: 1, jitter: 0 } },
      },
      slos: [{ id: "one-sided", indicator: "one-sided", objective: { max: 0 } }],
    });
    expect(code, output).toBe(2);
    const run = readJson(runDir, "run.json");
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/switch.*macAlgorithm = "des-cbc".*must be one of/s);
    expect(readFileSync(join(runDir, "logs", "switch.log"), "utf8")).toMatch(/macAlgorithm = "des-cbc"/);
    // The lab never came up: no terminal ran, so no sample file and no counts.
    expect(existsSync(join(runDir, "samples.ndjson.gz"))).toBe(false);
    expect(run.outcomes).toBeUndefined();
    expect(run.loadStartedAt).toBeUndefined();
    expect(await leftContainers(run.runId)).toEqual([]);
  });
});
