import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { INCIDENTS } from "../chaos/index.ts";
import { DEFAULT_TERMINAL } from "../fleet/plan.ts";
import type { OperationSample } from "../fleet/samples.ts";
import { softwareOf, tidOf } from "../fleet/schedule.ts";
import { readSamples } from "../fleet/testing/lab.ts";
import { localProfile } from "../profile/testing/profile-file.ts";
import { finalMetricsFileOf, RUN_FILES } from "../run-folder/index.ts";
import { parsePrometheus } from "../shared/prometheus.ts";
import { runQuietly } from "./testing/run-quietly.ts";

// The incidents the causes list lacked, each on the real lab (local runtime: the switch, HSM and issuers as
// processes, every link through the Toxiproxy build the project makes), asserting what a terminal sees.

/** Runs a profile whose timeline has one fault: its operations' samples, and the fault's window (ms). */
async function runWithFault(file: string) {
  const { outcome, run } = await runQuietly(file);
  expect(outcome.status).toBe("completed");
  const samples = readSamples(join(outcome.runDir, RUN_FILES.samples)).filter(
    (s): s is OperationSample => !("ev" in s),
  );
  const entry = run.timeline!.entries![0]!;
  return {
    outcome,
    samples,
    from: entry.appliedAt!.sinceStartS * 1000,
    to: entry.clearedAt!.sinceStartS * 1000,
  };
}

describe("incidents on the real lab", () => {
  it("transmission-errors: damaged frames reach terminals as protocol or mac; the switch counts them and keeps serving", async () => {
    const chaos = INCIDENTS["transmission-errors"].entries(3, 4);
    const file = localProfile("transmission-errors", {
      durationS: 10,
      terminals: 30,
      perTerminal: 40,
      terminal: 'responseTimeoutMs: 2000, retry: { policy: "none" }',
      more: `chaos: ${JSON.stringify(chaos)},`,
    });
    const { outcome, samples, from, to } = await runWithFault(file);
    const during = samples.filter((s) => s.t >= from && s.t < to);
    const damaged = during.filter((s) => s.outcome === "protocol" || s.outcome === "mac");
    // 5 % of frames each way over 4 s of about 100 exchanges/s: tens of damaged frames
    expect(damaged.length).toBeGreaterThanOrEqual(5);
    expect(damaged.length).toBeLessThan(during.length / 2);
    // Before and well after the window every exchange is clean: the switch kept serving.
    const clean = samples.filter((s) => s.t < from - 500 || s.t > to + 2500);
    expect(clean.filter((s) => s.op === "purchase" && s.outcome === "approved").length).toBeGreaterThan(50);
    expect(clean.filter((s) => s.outcome !== "approved" && s.op !== "reversal")).toEqual([]);
    // The switch counted the frames it could not read (truncated, short length) and answered the rest.
    const metrics = parsePrometheus(readFileSync(join(outcome.runDir, finalMetricsFileOf("switch")), "utf8"));
    const malformed = [...metrics].filter(([k]) => k.startsWith("switch_malformed_frames_total"));
    expect(malformed.reduce((sum, [, v]) => sum + v, 0)).toBeGreaterThan(0);
  });

  it("terminal-power-loss: cut purchases come back as reversals the switch settles; no one-sided transaction", async () => {
    const chaos = INCIDENTS["terminal-power-loss"].entries(2, 4).map((e) => ({
      ...e,
      fault: { ...e.fault, offMs: 1500 },
    }));
    const file = localProfile("terminal-power-loss", {
      durationS: 12,
      terminals: 20,
      perTerminal: 30,
      terminal: "responseTimeoutMs: 3000",
      more: `chaos: ${JSON.stringify(chaos)},
             slos: [{ id: "one-sided", indicator: "one-sided", objective: { max: 0 } }],`,
    });
    const { outcome, run } = await runQuietly(file);
    expect(outcome.status).toBe("completed");
    const counts = run.outcomes!;
    // 20% of the purchases started in the 4 s window (about 100/s): tens of terminals lost power
    const lost = counts.skipped.purchase?.["power-lost"] ?? 0;
    expect(lost).toBeGreaterThanOrEqual(10);
    // each came back owing its reversal and delivered it: nothing abandoned, nothing left owed
    expect(counts.reversals.queued).toBeGreaterThanOrEqual(lost);
    expect(counts.reversals.settled).toBe(counts.reversals.queued);
    expect(counts.reversals.abandoned).toBe(0);
    // the issuer's ledger agrees with the terminals: the one-sided SLO holds
    expect(outcome.verdict!.slos.find((s) => s.id === "one-sided")).toMatchObject({ status: "pass" });
    expect(outcome.exitCode).toBe(0);
  });

  it("interface-change: terminals on old software are refused with 40 in the window, counted apart; upgraded ones go on", async () => {
    const chaos = INCIDENTS["interface-change"].entries(3, 4);
    const file = localProfile("interface-change", {
      durationS: 10,
      terminals: 20,
      perTerminal: 40,
      terminal: `responseTimeoutMs: 3000, retry: { policy: "none" },
                 software: [{ version: "000001", share: 0.75 }, { version: "000000", share: 0.25 }]`,
      more: `chaos: ${JSON.stringify(chaos)},`,
    });
    const { outcome, samples, from, to } = await runWithFault(file);
    const refused = samples.filter((s) => s.code === "40");
    // Only the old quarter of the fleet (the terminals softwareOf puts on 000000), only while the new switch
    // requires 000001
    const mix = [
      { version: "000001", share: 0.75 },
      { version: "000000", share: 0.25 },
    ];
    const expectedOld = Array.from({ length: 20 }, (_, i) => i)
      .filter((i) => softwareOf(mix, i) === "000000")
      .map((i) => tidOf(DEFAULT_TERMINAL.tidPrefix, DEFAULT_TERMINAL.firstTid + i));
    expect(expectedOld.length).toBeGreaterThanOrEqual(4);
    const oldTids = new Set(refused.map((s) => s.tid));
    expect([...oldTids].sort()).toEqual(expectedOld.sort());
    // every refusal inside the window (100 ms after it for a reply in flight); the ones outside are shown
    expect(refused.filter((s) => s.t < from || s.t > to + 100).map((s) => ({ ...s, from, to }))).toEqual([]);
    const upgraded = samples.filter((s) => !oldTids.has(s.tid) && s.t >= from && s.t < to);
    expect(upgraded.length).toBeGreaterThan(100);
    expect(upgraded.every((s) => s.outcome === "approved")).toBe(true);
    // Counted apart in the report, with its meaning
    const summary = readFileSync(join(outcome.runDir, "summary.md"), "utf8");
    expect(summary).toMatch(
      /\| 40 \| function not supported: the terminal's software is older than the switch requires \| \d+/,
    );
  });
});
