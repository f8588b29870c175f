import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { EntryRecord, Phase } from "../../chaos/index.ts";
import { COLLECTED_DIR, type PlanJson, writePlanJson, writeRunJson } from "../../run-folder/index.ts";
import type { RunJson } from "../model.ts";

// The frame of a synthetic run folder, as `posstorm run` leaves it around the samples: run.json (status, times,
// versions, the timeline's one fault with its actual times), plan.json (the fleet's plan, the phases of that
// fault, SLOs) and an empty collected/. The report tests (fakeRunFolder) and the report benchmark
// (bench/report.bench.ts) both write their folders with it and add the samples their own way.

export interface FrameFault {
  name: string;
  description: string;
  kind: EntryRecord["kind"];
  target: string;
  /** Planned window, seconds since load start. */
  atS: number;
  forS: number;
  /** When it was actually applied and cleared (default: as planned). */
  appliedS?: number;
  clearedS?: number;
}

export interface RunFrame {
  runId: string;
  profile: { name: string; description?: string };
  /** Time zero of the samples, ms since the epoch. */
  loadStartMs: number;
  /** Load time, seconds (the plan's). */
  durationS: number;
  /** One fault on the timeline (null: none). */
  fault: FrameFault | null;
  versions: Record<string, string>;
  /** The fleet's plan: plan.json gets the phases (and the SLOs given) added to it. */
  plan: PlanJson;
  /** run.json fields to set over the frame's. */
  run?: Partial<RunJson>;
}

/** Phases of a run with at most one fault: baseline, the fault, recovery. */
export function phasesOf(
  fault: Pick<FrameFault, "name" | "atS" | "forS"> | null,
  durationS: number,
): Phase[] {
  if (!fault) return [{ name: "baseline", kind: "baseline", startS: 0, endS: durationS }];
  const endS = fault.atS + fault.forS;
  return [
    { name: "baseline", kind: "baseline", startS: 0, endS: fault.atS },
    { name: `fault:${fault.name}`, kind: "fault", startS: fault.atS, endS, entry: 0 },
    { name: "recovery", kind: "recovery", startS: endS, endS: durationS, after: fault.name },
  ];
}

export function writeRunFrame(dir: string, frame: RunFrame): { run: RunJson; plan: PlanJson } {
  const at = (sinceStartS: number) => ({
    iso: new Date(frame.loadStartMs + sinceStartS * 1000).toISOString(),
    sinceStartS,
  });
  const { fault } = frame;
  const entries: EntryRecord[] = fault
    ? [
        {
          index: 0,
          name: fault.name,
          description: fault.description,
          kind: fault.kind,
          target: fault.target,
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
    runId: frame.runId,
    profile: frame.profile,
    status: "completed",
    startedAt: new Date(frame.loadStartMs - 2000).toISOString(),
    loadStartedAt: at(0).iso,
    endedAt: new Date(frame.loadStartMs + (frame.durationS + 2) * 1000).toISOString(),
    versions: frame.versions,
    timeline: { entries },
    ...frame.run,
  };
  const plan: PlanJson = { phases: phasesOf(fault, frame.durationS), ...frame.plan };
  mkdirSync(join(dir, COLLECTED_DIR), { recursive: true });
  writeRunJson(dir, run);
  writePlanJson(dir, plan);
  return { run, plan };
}
