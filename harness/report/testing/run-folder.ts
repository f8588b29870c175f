import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EntryRecord, Phase } from "../../chaos/index.ts";
import { DEFAULT_TERMINAL, type RunPlan } from "../../fleet/plan.ts";
import { type PlanJson, writePlanJson, writeRunJson } from "../../run-folder/index.ts";
import type { LedgerEntry } from "../../sim/issuer/ledger.ts";
import type { RunJson } from "../model.ts";
import type { Point } from "../points.ts";
import { type LedgerFormat, writeLedger } from "./ledgers.ts";
import { LOAD_START_MS, type OpSpec, opPoints } from "./series.ts";

// A run folder as `posstorm run` leaves it, made by hand for tests of the report: run.json, plan.json,
// k6-results.json (k6's --out json lines), collected ledgers and final metrics.

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
  const phases: Phase[] = fault
    ? [
        { name: "baseline", kind: "baseline", startS: 0, endS: fault.atS },
        {
          name: "fault:edge-latency",
          kind: "fault",
          startS: fault.atS,
          endS: fault.atS + fault.forS,
          entry: 0,
        },
        {
          name: "recovery",
          kind: "recovery",
          startS: fault.atS + fault.forS,
          endS: durationS,
          after: "edge-latency",
        },
      ]
    : [{ name: "baseline", kind: "baseline", startS: 0, endS: durationS }];
  const at = (s: number) => ({ iso: new Date(LOAD_START_MS + s * 1000).toISOString(), sinceStartS: s });
  const entries: EntryRecord[] = fault
    ? [
        {
          index: 0,
          name: "edge-latency",
          description: "latency 200ms on edge (downstream)",
          kind: "latency",
          target: "edge",
          atS: fault.atS,
          forS: fault.forS,
          status: "cleared",
          facts: {},
          appliedAt: at(fault.appliedS ?? fault.atS),
          clearedAt: at(fault.clearedS ?? fault.atS + fault.forS),
          clearedBy: "schedule",
        },
      ]
    : [];
  const run: RunJson = {
    runId: "fake-20260101-120000",
    profile: { name: "fake", description: "a hand-made run" },
    status: spec.status ?? "completed",
    startedAt: new Date(LOAD_START_MS - 2000).toISOString(),
    loadStartedAt: new Date(LOAD_START_MS).toISOString(),
    endedAt: new Date(LOAD_START_MS + (durationS + 2) * 1000).toISOString(),
    phases,
    versions: { posstorm: "0.1.0", k6: "k6 v2.2.0", node: "v24", runtime: "containers" },
    timeline: { entries },
    ...(spec.run as Partial<RunJson>),
  };
  const plan: RunPlan = {
    version: 1,
    runId: run.runId,
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
  writeRunJson(dir, run);
  Object.assign(plan, spec.plan);
  writePlanJson(dir, plan);
  const lines = [
    JSON.stringify({ type: "Metric", data: { name: "pos_ops", type: "counter" }, metric: "pos_ops" }),
    ...spec.seconds.flatMap((specs, s) => specs.flatMap((o) => opPoints(s, o))).map(k6Line),
    ...(spec.extra ?? []).map(k6Line),
  ];
  writeFileSync(join(dir, "k6-results.json"), `${lines.join("\n")}\n`);
  mkdirSync(join(dir, "collected"));
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
