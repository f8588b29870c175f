import type { EntryRecord, Phase } from "../chaos/index.ts";
import type { Slots } from "./series.ts";

// Phases as they happened: the planned phases of run.json moved to the times the timeline actually applied
// and cleared each fault, with the link each fault was on. Evaluation and charts use these windows.

export interface PhaseWindow {
  /** `baseline`, `fault:<entry name>` or `recovery`. */
  name: string;
  kind: "baseline" | "fault" | "recovery";
  /** Seconds since load start, as it happened (planned times when the timeline has no record). */
  startS: number;
  endS: number;
  /** fault: the entry's name; recovery: the fault whose clear began it. */
  fault?: string;
  /** fault: what it was applied to (a link such as `edge`, or a program such as `issuer-a`). */
  target?: string;
  /** fault: seconds since load start when the clear returned (undefined: never cleared). */
  clearedAtS?: number;
}

export interface PhaseSource {
  phases: readonly Phase[];
  /** run.json `timeline.entries`. */
  entries?: readonly EntryRecord[];
  /** Load time, seconds (plan durationS): phases that end there extend to `endOfDataS` (the drain). */
  durationS: number;
  /** End of the data, seconds since load start (series slots × step). */
  endOfDataS: number;
}

/** Phase windows at their actual times; the last ones stretch over the drain after the load. */
export function phaseWindows(source: PhaseSource): PhaseWindow[] {
  const entries = source.entries ?? [];
  const actual = (plannedS: number): number => {
    for (const e of entries) {
      if (e.condition) continue; // a whole-run condition (network preset) makes no phase: its times move none
      if (e.atS === plannedS && e.appliedAt) return e.appliedAt.sinceStartS;
      if (e.atS + e.forS === plannedS && e.clearedAt) return e.clearedAt.sinceStartS;
    }
    return plannedS;
  };
  const end = Math.max(source.endOfDataS, source.durationS);
  return source.phases.map((p) => {
    const entry = p.kind === "fault" && p.entry !== undefined ? entries[p.entry] : undefined;
    const startS = p.kind === "fault" && entry?.appliedAt ? entry.appliedAt.sinceStartS : actual(p.startS);
    let endS = p.kind === "fault" && entry?.clearedAt ? entry.clearedAt.sinceStartS : actual(p.endS);
    if (p.endS >= source.durationS && p.kind !== "fault") endS = end;
    const window: PhaseWindow = { name: p.name, kind: p.kind, startS, endS };
    if (p.kind === "fault") {
      window.fault = entry?.name ?? p.name.replace(/^fault:/, "");
      if (entry) window.target = entry.target;
      if (entry?.clearedAt) window.clearedAtS = entry.clearedAt.sinceStartS;
      else if (!entry) window.clearedAtS = p.endS;
    }
    if (p.kind === "recovery" && p.after) window.fault = p.after;
    return window;
  });
}

/** The slots whose middle falls in [startS, endS). */
export function slotsIn(startS: number, endS: number, slots: number, stepS: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < slots; i++) {
    const mid = (i + 0.5) * stepS;
    if (mid >= startS && mid < endS) out.push(i);
  }
  return out;
}

/** Union of the slots of several windows, ascending. */
export function slotsOfWindows(
  windows: readonly Pick<PhaseWindow, "startS" | "endS">[],
  slots: number,
  stepS: number,
): number[] {
  const set = new Set<number>();
  for (const w of windows) for (const s of slotsIn(w.startS, w.endS, slots, stepS)) set.add(s);
  return [...set].sort((a, b) => a - b);
}

export const intersect = (a: Slots, b: Slots): number[] => {
  const set = new Set(b);
  return a.filter((s) => set.has(s));
};

/** Runs of consecutive slots: [[3,4,5],[9,10]]. */
export function contiguousRuns(slots: Slots): number[][] {
  const runs: number[][] = [];
  for (const s of slots) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === s - 1) last.push(s);
    else runs.push([s]);
  }
  return runs;
}
