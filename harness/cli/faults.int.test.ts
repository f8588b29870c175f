import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type OperationSample, type OutcomeCounts, parseSampleLines } from "../fleet/index.ts";
import { type Operation, OUTCOMES } from "../fleet/plan.ts";
import { readLedgers } from "../report/testing/ledgers.ts";
import { runProfile } from "../run/run-profile.ts";
import { REPO_ROOT } from "../shared/repo.ts";

// The fault table: each fault on the real lab (containers, Toxiproxy, nftables) and the outcome class
// the terminals see, from a real `posstorm run` of a small profile.

const define = JSON.stringify(join(REPO_ROOT, "harness/profile/define.ts"));

interface Case {
  fault?: Record<string, unknown>;
  terminal?: Record<string, unknown>;
  lab?: Record<string, unknown>;
  purchases?: number;
  durationS?: number;
  terminals?: number;
  faultAt?: number;
}

interface Result {
  outcomes: OutcomeCounts;
  /** Every operation of the run, from its raw samples (samples.ndjson.gz). */
  operations: OperationSample[];
  /** TCP connections the terminals opened (run.json). */
  socketsOpened: number;
  /** issuer-a's. */
  ledger: { entries: readonly { status: string }[] };
  run: { timeline?: { entries: { status: string; error?: string }[] } };
}

async function runCase(name: string, c: Case): Promise<Result> {
  const durationS = c.durationS ?? 12;
  const profile = {
    name,
    durationS,
    lab: { runtime: "containers", ...c.lab },
    terminal: { connectTimeoutMs: 1_000, responseTimeoutMs: 1_500, ...c.terminal },
    fleet: {
      model: "population",
      terminals: c.terminals ?? 10,
      vus: 1,
      signIn: { curve: "uniform", windowS: 1 },
      purchases: { perTerminal: c.purchases ?? 2, thinkTimeS: { mean: 1, jitter: 0 } },
    },
    ...(c.fault
      ? { chaos: [{ name: "fault", at: c.faultAt ?? 0, for: durationS - (c.faultAt ?? 0), fault: c.fault }] }
      : {}),
  };
  const dir = mkdtempSync(join(tmpdir(), `posstorm-${name}-`));
  const file = join(dir, `${name}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from ${define};\nexport default defineProfile(${JSON.stringify(profile)} as never);\n`,
  );
  const outcome = await runProfile({ profile: file, reportsDir: dir, live: false, log: () => undefined });
  expect(outcome.status, outcome.error).toBe("completed");
  const run = JSON.parse(readFileSync(join(outcome.runDir, "run.json"), "utf8"));
  const operations = parseSampleLines(
    gunzipSync(readFileSync(join(outcome.runDir, "samples.ndjson.gz"))).toString("utf8"),
  ).filter((sample): sample is OperationSample => !("ev" in sample));
  const ledger = (await readLedgers(outcome.runDir)).find((l) => l.issuer === "issuer-a");
  expect(ledger, "collected issuer-a ledger").toBeDefined();
  for (const entry of run.timeline?.entries ?? []) expect(entry.error, entry.error).toBeUndefined();
  return { outcomes: run.outcomes, operations, socketsOpened: run.fleet.socketsOpened, ledger: ledger!, run };
}

const only = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));

/** Every operation got exactly one outcome of the taxonomy. */
/**
 * Every operation line of the raw samples has one outcome of the taxonomy, and the run's counts (run.json,
 * from the merged per-second counts) agree with the lines, counted here independently.
 */
function classified(r: Result): void {
  const byOp = new Map<Operation, Map<string, number>>();
  for (const sample of r.operations) {
    expect(OUTCOMES).toContain(sample.outcome);
    const outcomes = byOp.get(sample.op) ?? new Map<string, number>();
    outcomes.set(sample.outcome, (outcomes.get(sample.outcome) ?? 0) + 1);
    byOp.set(sample.op, outcomes);
  }
  for (const op of Object.keys(r.outcomes.total) as Operation[]) {
    const counted = Object.fromEntries(byOp.get(op) ?? []);
    expect(only(r.outcomes.byOutcome[op]), `${op} outcomes`).toEqual(counted);
    expect(r.outcomes.total[op]).toBe(Object.values(counted).reduce((a, b) => a + b, 0));
  }
  expect(r.operations.length).toBeGreaterThan(0);
}

/** Nearest-rank percentile of the operations' latency (intended start → outcome), ms. */
function percentileMs(r: Result, q: number, op?: Operation): number {
  const ms = r.operations
    .filter((s) => op === undefined || s.op === op)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  return ms[Math.max(0, Math.ceil(q * ms.length) - 1)]!;
}

describe("faults and what the terminals see", () => {
  it("latency 200 ms on edge: sign-in median rises by about 200 ms, no errors", async () => {
    const base = await runCase("latency-base", { purchases: 0, durationS: 6 });
    const slow = await runCase("latency", {
      purchases: 0,
      durationS: 6,
      fault: { kind: "latency", link: "edge", latencyMs: 200 },
    });
    const median = (r: Result) => percentileMs(r, 0.5, "signin");
    expect(median(slow) - median(base)).toBeGreaterThanOrEqual(180);
    expect(median(slow) - median(base)).toBeLessThan(350);
    expect(only(slow.outcomes.byOutcome.signin)).toEqual({ approved: 10 });
  });

  it("timeout (blackhole) on edge: timeout.response", async () => {
    const r = await runCase("blackhole", {
      purchases: 0,
      durationS: 6,
      terminal: { retry: { policy: "none" } },
      fault: { kind: "timeout", link: "edge", timeoutMs: 0 },
    });
    expect(only(r.outcomes.byOutcome.signin)).toEqual({ "timeout.response": 10 });
  });

  it("edge down: refused", async () => {
    const r = await runCase("down", {
      purchases: 0,
      durationS: 5,
      terminal: { retry: { policy: "none" } },
      fault: { kind: "down", link: "edge" },
    });
    expect(only(r.outcomes.byOutcome.signin)).toEqual({ refused: 10 });
  });

  it("SYN drop on edge: timeout.connect", async () => {
    const r = await runCase("syn-drop", {
      purchases: 0,
      durationS: 6,
      terminal: { retry: { policy: "none" } },
      fault: { kind: "syn-drop", link: "edge" },
    });
    expect(only(r.outcomes.byOutcome.signin)).toEqual({ "timeout.connect": 10 });
  });

  it("reset_peer on edge: reset", async () => {
    const r = await runCase("reset", {
      purchases: 0,
      durationS: 5,
      terminal: { retry: { policy: "none" } },
      fault: { kind: "reset_peer", link: "edge", timeoutMs: 0, direction: "upstream" },
    });
    expect(only(r.outcomes.byOutcome.signin)).toEqual({ reset: 10 });
  });

  it("slicer on edge: no errors at all (reassembly works)", async () => {
    const r = await runCase("slicer", {
      fault: {
        kind: "slicer",
        link: "edge",
        averageSizeBytes: 3,
        sizeVariationBytes: 2,
        delayUs: 200,
        direction: "both",
      },
    });
    expect(only(r.outcomes.byOutcome.signin)).toEqual({ approved: 10 });
    expect(only(r.outcomes.byOutcome.purchase)).toEqual({ approved: 20 });
  });

  it("limit_data on edge: closed or protocol", async () => {
    const r = await runCase("limit-data", {
      purchases: 0,
      durationS: 5,
      terminal: { retry: { policy: "none" } },
      fault: { kind: "limit_data", link: "edge", bytes: 20 },
    });
    const seen = only(r.outcomes.byOutcome.signin);
    expect(Object.keys(seen).every((o) => o === "closed" || o === "protocol")).toBe(true);
    expect((seen.closed ?? 0) + (seen.protocol ?? 0)).toBe(10);
  });

  it("5% packet loss on edge: p99 rises (retransmissions), outcomes all classified", async () => {
    const base = await runCase("loss-base", { terminals: 20, purchases: 3, durationS: 10 });
    const lossy = await runCase("loss", {
      terminals: 20,
      purchases: 3,
      durationS: 10,
      terminal: { responseTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
      fault: { kind: "packet-loss", link: "edge", lossPercent: 5 },
    });
    const p99 = (r: Result) => percentileMs(r, 0.99);
    expect(p99(lossy)).toBeGreaterThan(p99(base) + 150);
    classified(lossy);
  });

  it("connection kill in long mode: the terminals notice, reconnect and continue", async () => {
    const r = await runCase("kill", {
      purchases: 8,
      durationS: 14,
      faultAt: 4,
      terminal: { mode: "long", echoIntervalMs: 1_000, idleTimeoutMs: 1_000 },
      fault: { kind: "connection-kill", link: "edge" },
    });
    classified(r);
    const purchases = r.outcomes.byOutcome.purchase;
    expect(purchases.approved).toBeGreaterThanOrEqual(60);
    // Noticed: a link closed while idle is seen by its close event (no operation fails then), one closed
    // mid-exchange fails that operation; either way each terminal opens a second link — without the kill a
    // long-mode terminal keeps one socket for the whole run.
    expect(r.socketsOpened).toBeGreaterThanOrEqual(2 * 10);
  });

  it("switch restart in long mode: the terminals lose their links, sign in again and go on buying", async () => {
    const r = await runCase("switch-restart", {
      purchases: 8,
      durationS: 18,
      faultAt: 4,
      terminal: { mode: "long", echoIntervalMs: 1_000, idleTimeoutMs: 1_000 },
      fault: { kind: "switch-restart", downMs: 2_000 },
    });
    classified(r);
    const entry = r.run.timeline?.entries[0] as { status: string; appliedAt?: { sinceStartS: number } };
    expect(entry.appliedAt?.sinceStartS).toBeGreaterThanOrEqual(3.5);
    const failed = (op: keyof OutcomeCounts["byOutcome"]) =>
      r.outcomes.total[op] - r.outcomes.byOutcome[op].approved - r.outcomes.byOutcome[op].declined;
    // The restart was felt: links dropped or refused while the switch was down.
    expect(failed("purchase") + failed("echo") + failed("signin")).toBeGreaterThan(0);
    // A restarted switch has no session keys: every terminal that went on signed in again.
    expect(r.outcomes.byOutcome.signin.approved).toBeGreaterThan(10);
    expect(r.outcomes.byOutcome.purchase.approved).toBeGreaterThanOrEqual(40);
  });

  it("issuer latency above the switch timeout: declined 98, the issuer ledger ends reversed", async () => {
    const r = await runCase("issuer-98", {
      purchases: 1,
      durationS: 10,
      terminal: { responseTimeoutMs: 5_000, cards: [{ pan: "6222020000000001234", weight: 1 }] },
      lab: { switch: { issuerTimeoutMs: 1_000, safRetryMs: 500 } },
      fault: { kind: "latency", link: "issuer-a", latencyMs: 2_000 },
    });
    expect(r.outcomes.byCode.purchase).toEqual({ "98": 10 });
    expect(r.ledger.entries.filter((e) => e.status === "reversed").length).toBe(10);
  });

  it("issuer latency above the terminal timeout, switch timeout longer (misconfigured): timeout.response, then a terminal reversal", async () => {
    // Four purchases each: the reversal owed by the first is tried once before each of the next ones.
    const r = await runCase("misconfigured", {
      purchases: 4,
      durationS: 16,
      terminals: 5,
      terminal: { responseTimeoutMs: 1_000, cards: [{ pan: "6222020000000001234", weight: 1 }] },
      lab: { switch: { issuerTimeoutMs: 10_000 } },
      fault: { kind: "latency", link: "issuer-a", latencyMs: 2_000 },
    });
    expect(r.outcomes.byOutcome.purchase["timeout.response"]).toBeGreaterThanOrEqual(5);
    expect(r.outcomes.reversals.queued).toBeGreaterThanOrEqual(5);
    expect(r.outcomes.byOutcome.reversal.approved + r.outcomes.byOutcome.reversal.declined).toBeGreaterThan(
      0,
    );
  });
});
