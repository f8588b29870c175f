import { maskPan } from "../protocol/index.ts";
import type { PlanJson, RunJson } from "../run-folder/index.ts";
import { type ChartData, chartData, faultWindows } from "./charts.ts";
import { buildJournal, type Journal, keepsJournal } from "./journal.ts";
import { type PhaseWindow, phaseWindows } from "./phases.ts";
import type { Reconciliation } from "./reconcile.ts";
import type { RunSeries } from "./series.ts";
import { evaluate, type Slo, type Verdict } from "./slo.ts";
import { type SpanStats, summarise } from "./stats.ts";

// Everything the renderers format, computed at once from the run's files (already read) and the reconciliation
// (reconcile.ts streams the ledgers): the verdict, the per-phase figures and the chart data. Pure; report.ts
// does the reading and writing.

export type { RunJson };

export interface RunFacts {
  runId: string;
  profile: { name: string; description?: string; file?: string };
  /** completed, failed, interrupted … (run.json `status`). */
  status: string;
  startedAt?: string;
  loadStartedAt?: string;
  endedAt?: string;
  error?: string;
  /** Load time, seconds (the plan's durationS). */
  durationS: number;
  versions: Record<string, string>;
}

export interface FaultSummary {
  name: string;
  description: string;
  target: string;
  plannedAtS: number;
  plannedForS: number;
  /** Actual apply and clear, seconds since load start. */
  appliedAtS?: number;
  clearedAtS?: number;
  status: string;
  error?: string;
  /** A whole-run condition (the profile's network preset), not a fault window. */
  condition?: boolean;
}

export interface ReportModel {
  run: RunFacts;
  verdict: Verdict;
  /**
   * What `posstorm run` exits with for this run: the verdict's 0 or 1 when the run completed, 2 when it did not
   * (failed or interrupted: the figures are partial and the SLOs do not decide).
   */
  exitCode: 0 | 1 | 2;
  /** The run failed or was interrupted. */
  incomplete: boolean;
  /** A game day's journal (steady state, actions, verdict), when the run keeps one. */
  journal?: Journal;
  phases: SpanStats[];
  total: SpanStats;
  phaseWindows: PhaseWindow[];
  /** Replies by operation and F39 over the whole run. */
  codes: Record<string, Record<string, number>>;
  reconciliation: Reconciliation;
  faults: FaultSummary[];
  charts: ChartData;
  /** plan.json with card numbers masked and the lab key left out. */
  plan: unknown;
  series: { slots: number; stepS: number; points: number; early: number };
  /**
   * The generator was the bottleneck: dropped arrivals, late starts or a blocked event loop. The figures then
   * describe posstorm more than the switch; every output says so. Undefined for runs that did not record it.
   */
  generator?: { limited: boolean; reasons: string[] };
  notes: string[];
}

export interface ModelInputs {
  run: RunJson;
  plan?: PlanJson;
  series: RunSeries;
  /** The issuers' ledgers against the series' pos_unsettled (reconcileRun, or reconcile in memory). */
  reconciliation: Reconciliation;
  slos: readonly Slo[];
}

export function buildModel({ run, plan, series, reconciliation, slos }: ModelInputs): ReportModel {
  const entries = run.timeline?.entries ?? [];
  // The plan's phases (plan.json); runs of earlier versions kept them in run.json.
  const planned = plan?.phases ?? run.phases ?? [];
  const durationS = plan?.durationS ?? Math.max(0, ...planned.map((p) => p.endS));
  const phases = phaseWindows({
    phases: planned.length ? planned : [{ name: "baseline", kind: "baseline", startS: 0, endS: durationS }],
    entries,
    durationS,
    endOfDataS: series.slots * series.stepS,
  });
  const verdict = evaluate(slos, series, phases, reconciliation, {
    ...(plan?.judgeFromS ? { judgeFromS: plan.judgeFromS } : {}),
  });
  const { phases: phaseStats, total } = summarise(series, phases, durationS);
  const codes: Record<string, Record<string, number>> = {};
  for (const [op, byCode] of Object.entries(series.codes)) {
    for (const [code, values] of Object.entries(byCode)) {
      const n = values.reduce((a, b) => a + b, 0);
      if (n > 0) codes[op] = { ...codes[op], [code]: n };
    }
  }
  const incomplete = run.status === "failed" || run.status === "interrupted";
  const journal = keepsJournal(run, plan)
    ? buildJournal({ run, plan, series, reconciliation, endOfDataS: series.slots * series.stepS })
    : undefined;
  const notes: string[] = [];
  if (slos.length === 0) notes.push("The profile defines no SLOs: the verdict is a pass by default.");
  if (run.abort)
    notes.unshift(`Aborted at ${run.abort.atS.toFixed(1)} s: ${run.abort.condition} (${run.abort.detail}).`);
  if (run.status && run.status !== "completed" && run.status !== "aborted") {
    notes.push(
      `The run did not complete (${run.status}${run.error ? `: ${run.error}` : ""}): figures cover what was collected.`,
    );
  }
  const generator = run.fleet?.generator && {
    limited: run.fleet.generator.limited,
    reasons: run.fleet.generator.reasons.map((r) => r.text),
  };
  if (generator?.limited) {
    notes.unshift(
      `The load generator was the bottleneck (${generator.reasons.join("; ")}): these figures describe posstorm ` +
        "at least as much as the switch. Lower the load, or spread the fleet over more cores or hosts.",
    );
  }
  if (series.early > 0)
    notes.push(`${series.early} operation(s) ended before load start (counted in the first second).`);
  return {
    run: {
      runId: run.runId,
      profile: run.profile ?? { name: run.runId },
      status: run.status ?? "unknown",
      ...(run.startedAt ? { startedAt: run.startedAt } : {}),
      ...(run.loadStartedAt ? { loadStartedAt: run.loadStartedAt } : {}),
      ...(run.endedAt ? { endedAt: run.endedAt } : {}),
      ...(run.error ? { error: run.error } : {}),
      durationS,
      versions: run.versions ?? {},
    },
    verdict,
    // An abort condition that stopped the run fails it like a breached SLO.
    exitCode: incomplete ? 2 : journal?.verdict === "aborted" ? 1 : verdict.exitCode,
    incomplete,
    ...(journal ? { journal } : {}),
    phases: phaseStats,
    total,
    phaseWindows: phases,
    codes,
    reconciliation,
    faults: entries.map((e) => ({
      name: e.name,
      description: e.description,
      target: e.target,
      plannedAtS: e.atS,
      plannedForS: e.forS,
      ...(e.appliedAt ? { appliedAtS: e.appliedAt.sinceStartS } : {}),
      ...(e.clearedAt ? { clearedAtS: e.clearedAt.sinceStartS } : {}),
      status: e.status,
      ...(e.error ? { error: e.error } : {}),
      ...(e.condition ? { condition: true } : {}),
    })),
    charts: chartData(series, faultWindows(entries, phases), plan?.switchMetrics?.chart ?? []),
    plan: plan ? maskPlan(plan) : undefined,
    series: { slots: series.slots, stepS: series.stepS, points: series.points, early: series.early },
    ...(generator ? { generator } : {}),
    notes,
  };
}

/** The plan as a report may show it: card numbers masked, the lab key left out. */
export function maskPlan(plan: PlanJson): unknown {
  return {
    ...plan,
    labKeyHex: "(not shown)",
    terminal: {
      ...plan.terminal,
      cards: plan.terminal.cards.map((c) => ({ ...c, pan: maskPan(c.pan) })),
    },
  };
}
