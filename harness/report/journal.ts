import type { EntryRecord } from "../chaos/index.ts";
import type { PlanJson, RunJson } from "../run-folder/index.ts";
import type { Slo } from "../slo/index.ts";
import type { PhaseWindow } from "./phases.ts";
import type { Reconciliation } from "./reconcile.ts";
import type { RunSeries } from "./series.ts";
import { evaluate, type SloResult } from "./slo.ts";

// A game day's journal (journal.json and a section of the summary): the steady-state hypothesis checked before
// the first fault and after the last, every action on the lab with who took it and when (the profile's
// timeline, a person, the emergency stop, an abort condition), and the verdict: passed, deviated or aborted.

export interface JournalAction {
  /** Seconds since load start. */
  atS: number;
  at: string;
  by: "planned" | "manual" | "emergency-stop" | "abort" | "end of load";
  action: "apply" | "clear" | "apply failed" | "stop the run";
  name: string;
  description: string;
}

export interface Journal {
  verdict: "passed" | "deviated" | "aborted";
  /** Why, in one line. */
  reason: string;
  hypothesis: {
    /** The window each check read, seconds since load start (null: no such window, e.g. no fault). */
    before: { window: { startS: number; endS: number } | null; probes: SloResult[] };
    after: { window: { startS: number; endS: number } | null; probes: SloResult[] };
  };
  actions: JournalAction[];
  abort?: NonNullable<RunJson["abort"]>;
}

/** Whether a run keeps a journal: a game day (steady state or abort conditions), faults by hand, or an abort. */
export function keepsJournal(run: RunJson, plan: PlanJson | undefined): boolean {
  return (
    plan?.gameDay !== undefined ||
    run.abort !== undefined ||
    run.endedByHand !== undefined ||
    (run.timeline?.entries ?? []).some((e) => e.origin === "manual")
  );
}

function whoCleared(e: EntryRecord, run: RunJson): JournalAction["by"] {
  if (e.clearedBy === "manual") return "manual";
  if (e.clearedBy === "emergency-stop") return "emergency-stop";
  if (e.clearedBy === "abort") return run.abort ? "abort" : run.endedByHand ? "manual" : "end of load";
  return e.origin === "manual" ? "manual" : "planned";
}

export function buildJournal(input: {
  run: RunJson;
  plan: PlanJson | undefined;
  series: RunSeries;
  reconciliation: Reconciliation;
  endOfDataS: number;
}): Journal {
  const { run, plan, series, reconciliation } = input;
  const entries = (run.timeline?.entries ?? []).filter((e) => !e.condition);
  const actions: JournalAction[] = [];
  for (const e of entries) {
    const by = e.origin === "manual" ? "manual" : "planned";
    if (e.appliedAt)
      actions.push({
        atS: e.appliedAt.sinceStartS,
        at: e.appliedAt.iso,
        by,
        action: "apply",
        name: e.name,
        description: e.description,
      });
    else if (e.status === "failed")
      actions.push({
        atS: e.atS,
        at: "",
        by,
        action: "apply failed",
        name: e.name,
        description: `${e.description}: ${e.error ?? ""}`,
      });
    if (e.clearedAt)
      actions.push({
        atS: e.clearedAt.sinceStartS,
        at: e.clearedAt.iso,
        by: whoCleared(e, run),
        action: "clear",
        name: e.name,
        description: e.description,
      });
  }
  if (run.endedByHand)
    actions.push({
      atS: run.endedByHand.atS,
      at: run.endedByHand.at,
      by: "manual",
      action: "stop the run",
      name: "end of rehearsal",
      description: `ended by hand (${run.endedByHand.by})`,
    });
  if (run.abort)
    actions.push({
      atS: run.abort.atS,
      at: run.abort.at,
      by: "abort",
      action: "stop the run",
      name: run.abort.condition,
      description: run.abort.detail,
    });
  actions.sort((a, b) => a.atS - b.atS);

  // Before the first fault was applied, after the last was cleared: the steady state's two windows.
  const applied = entries.filter((e) => e.appliedAt);
  const firstS = applied.length ? Math.min(...applied.map((e) => e.appliedAt!.sinceStartS)) : null;
  const cleared = applied.map((e) => e.clearedAt?.sinceStartS ?? input.endOfDataS);
  const lastS = applied.length ? Math.max(...cleared) : null;
  const from = plan?.judgeFromS ?? 0;
  const before = firstS !== null && firstS > from ? { startS: from, endS: firstS } : null;
  const afterEnd = run.abort?.atS ?? run.endedByHand?.atS ?? input.endOfDataS;
  const after = lastS !== null && afterEnd > lastS ? { startS: lastS, endS: afterEnd } : null;
  const probes = plan?.gameDay?.steadyState ?? [];
  const check = (name: string, window: { startS: number; endS: number } | null): SloResult[] => {
    if (probes.length === 0) return [];
    const windows: PhaseWindow[] = window ? [{ name, kind: "baseline", ...window }] : [];
    const scoped: Slo[] = probes.map((p) => ({ ...p, scope: { ...p.scope, phase: name } }) as Slo);
    return evaluate(scoped, series, windows, reconciliation).slos;
  };
  const hypothesis = {
    before: { window: before, probes: check("steady-state before", before) },
    after: { window: after, probes: check("steady-state after", after) },
  };
  const failed = [...hypothesis.before.probes, ...hypothesis.after.probes].filter((p) => p.status === "fail");
  if (run.abort)
    return {
      verdict: "aborted",
      reason: `stopped at ${run.abort.atS.toFixed(1)} s: ${run.abort.condition}`,
      hypothesis,
      actions,
      abort: run.abort,
    };
  if (failed.length > 0)
    return {
      verdict: "deviated",
      reason: `the steady state did not hold: ${failed.map((p) => p.id).join(", ")}`,
      hypothesis,
      actions,
    };
  const reason =
    probes.length === 0
      ? "no steady-state hypothesis declared; no abort condition breached"
      : "the steady state held before the first fault and after the last";
  return { verdict: "passed", reason, hypothesis, actions };
}
