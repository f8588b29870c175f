import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TERMINAL, type RunPlan } from "../../fleet/plan.ts";
import type { PlanJson } from "../../run-folder/index.ts";
import type { LedgerEntry } from "../../sim/issuer/ledger.ts";
import type { RunJson } from "../model.ts";
import type { Point } from "../points.ts";
import { type LedgerFormat, writeLedger } from "./ledgers.ts";
import { writeRunFrame } from "./run-frame.ts";
import { LOAD_START_MS, type OpSpec, opPoints } from "./series.ts";

// A run folder as `posstorm run` leaves it, made by hand for tests of the report: the frame (run.json, plan.json,
// collected/: run-frame.ts, which the report benchmark writes its folders with too), k6-results.json (k6's
// --out json lines: the aggregator reads runs of earlier versions so), collected ledgers and final metrics.

export interface FakeRun {
  seconds: OpSpec[][];
  extra?: Point[];
  durationS?: number;
  /** One fault `edge-latency` on edge, applied/cleared at these seconds (default 10–20). */
  fault?: { atS: number; forS: number; appliedS?: number; clearedS?: number } | null;
  /** By lab program (`issuer-a`); default: issuer-a's, empty. */
  ledgers?: Record<string, LedgerEntry[]>;
  /** How the ledgers are stored (default as `posstorm run` collects them; `json`: a run of an older version). */
  ledgerFormat?: LedgerFormat;
  status?: string;
  /** run.json fields to set; `fleet` may be partial, as in a run.json of an older version. */
  run?: Partial<Omit<RunJson, "fleet">> & { fleet?: unknown };
  /** plan.json fields to set (SLOs, compare settings …). */
  plan?: Partial<PlanJson>;
}

export const k6Line = (p: Point) =>
  JSON.stringify({
    metric: p.metric,
    type: "Point",
    data: {
      time: new Date(p.timeMs).toISOString(),
      value: p.value,
      tags: { ...p.tags, group: "", run: "test" },
    },
  });

export function fakeRunFolder(spec: FakeRun): string {
  const dir = mkdtempSync(join(tmpdir(), "posstorm-fake-run-"));
  const durationS = spec.durationS ?? spec.seconds.length;
  const fault = spec.fault === undefined ? { atS: 10, forS: 10 } : spec.fault;
  const runId = "fake-20260101-120000";
  const plan: RunPlan = {
    version: 1,
    runId,
    target: { host: "127.0.0.1", port: 20000 },
    labKeyHex: "0123456789ABCDEFFEDCBA9876543210",
    terminal: DEFAULT_TERMINAL,
    fleet: {
      model: "open",
      operation: "purchase",
      stages: [{ durationS, ratePerS: 10 }],
      preAllocatedVUs: 1,
      maxVUs: 1,
    },
    durationS,
  };
  writeRunFrame(dir, {
    runId,
    profile: { name: "fake", description: "a hand-made run" },
    loadStartMs: LOAD_START_MS,
    durationS,
    fault: fault && {
      name: "edge-latency",
      description: "latency 200ms on edge (downstream)",
      kind: "latency",
      target: "edge",
      ...fault,
    },
    versions: { posstorm: "0.1.0", k6: "k6 v2.2.0", node: "v24", runtime: "containers" },
    plan: { ...plan, ...spec.plan },
    run: { ...(spec.status ? { status: spec.status } : {}), ...(spec.run as Partial<RunJson>) },
  });
  const lines = [
    JSON.stringify({ type: "Metric", data: { name: "pos_ops", type: "counter" }, metric: "pos_ops" }),
    ...spec.seconds.flatMap((specs, s) => specs.flatMap((o) => opPoints(s, o))).map(k6Line),
    ...(spec.extra ?? []).map(k6Line),
  ];
  writeFileSync(join(dir, "k6-results.json"), `${lines.join("\n")}\n`);
  for (const [issuer, ledger] of Object.entries(spec.ledgers ?? { "issuer-a": [] })) {
    writeLedger(dir, issuer, ledger, spec.ledgerFormat);
  }
  writeFileSync(join(dir, "collected", "switch.metrics.prom"), "switch_in_flight 2\nswitch_queue_depth 0\n");
  return dir;
}

export function ledgerEntry(over: Partial<LedgerEntry> & Pick<LedgerEntry, "tid" | "stan">): LedgerEntry {
  return {
    batch: "000001",
    pan: "6222 02** **** ***1 234",
    amount: "000000012345",
    responseCode: "00",
    authCode: "123456",
    rrn: "000000000001",
    status: "approved",
    receivedAt: LOAD_START_MS + 5000,
    repliedAt: LOAD_START_MS + 5020,
    replySent: true,
    reversalAttempts: 0,
    ...over,
  };
}
