import { onShutdown } from "../shared/shutdown.ts";
import { type AppliedFault, applyFault, type ChaosContext } from "./apply.ts";
import {
  describeFault,
  type Fault,
  faultDirections,
  faultTarget,
  isToxicFault,
  validateFault,
} from "./faults.ts";
import { ChaosError } from "./toxiproxy.ts";

// The chaos timeline: faults applied and cleared on a clock relative to load start, with the actual
// times recorded. Every fault still applied is cleared when the timeline ends, is aborted or disposed,
// and on Ctrl-C.

export interface TimelineEntry {
  /** Phase name `fault:<name>`; default `<kind>@<target>` (`latency@edge`), `#2`… when repeated. */
  name?: string;
  /** Seconds from load start. */
  at: number;
  /** Seconds the fault stays; for instant faults (connection-kill, switch-restart) the window watched. */
  for: number;
  fault: Fault;
  /**
   * A condition of the whole run (a profile's network preset): applied and cleared like a fault, but it makes
   * no phase of its own and is not shaded as a fault in the report.
   */
  condition?: boolean;
}

/** A moment of the run: wall clock and seconds since load start. */
export interface Instant {
  iso: string;
  sinceStartS: number;
}

export type EntryStatus =
  /** waiting for its time */
  | "pending"
  /** apply call in progress */
  | "applying"
  /** applied and verified, not cleared yet */
  | "active"
  /** clear call in progress */
  | "clearing"
  | "cleared"
  /** the apply failed (what it had done was undone) */
  | "failed"
  /** the clear failed: the fault may still be in effect */
  | "clear-failed"
  /** aborted before its time */
  | "skipped";

export interface EntryRecord {
  index: number;
  name: string;
  description: string;
  kind: Fault["kind"];
  target: string;
  atS: number;
  forS: number;
  status: EntryStatus;
  /** A whole-run condition (network preset), not a fault window. */
  condition?: boolean;
  /** When the apply call returned (the fault was in effect from then). */
  appliedAt?: Instant;
  /** When the clear call returned. */
  clearedAt?: Instant;
  /** Why it was cleared: its time came, the timeline was aborted, by hand, or by the emergency stop. */
  clearedBy?: "schedule" | "abort" | "manual" | "emergency-stop";
  /** Who put it there: the profile's timeline (absent: planned) or a person during the run (`manual`). */
  origin?: "planned" | "manual";
  error?: string;
  clearError?: string;
  /** Measured facts of apply and clear: killed connections, dropped packets, previous settings … */
  facts: Record<string, number | string>;
}

export interface TimelineResult {
  /** Load start. */
  startedAt: string;
  endedAt: string;
  aborted: boolean;
  abortReason?: string;
  entries: EntryRecord[];
}

/** Time source; tests pass a fake one. */
export interface Clock {
  /** ms since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted || ms <= 0) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    }),
};

export interface TimelineOptions {
  /** Load duration in seconds: entries must start before it and end by it. */
  loadDurationS?: number;
  /** Load start, ms since the epoch; default now. */
  startAtMs?: number;
  clock?: Clock;
  /** Register abort with the Ctrl-C cleanups (default true). */
  clearOnShutdown?: boolean;
  /** Prefix of messages, default `chaos`. */
  path?: string;
}

export interface StartedTimeline extends AsyncDisposable {
  /** Resolves when every entry has been applied and cleared (or skipped); never rejects. */
  readonly done: Promise<TimelineResult>;
  readonly startedAtMs: number;
  /** A snapshot of the entries' records, for a live view. */
  records(): EntryRecord[];
  /** Skips what has not started and clears what is applied; resolves with the result. */
  abort(reason?: string): Promise<TimelineResult>;
}

const conflicts = (a: Fault, b: Fault) => {
  if (a.kind !== b.kind || faultTarget(a) !== faultTarget(b)) return false;
  const da = faultDirections(a);
  const db = faultDirections(b);
  return !da || !db || da.some((d) => db.includes(d));
};

/** Every entry's phase name, defaults filled in: `latency@edge`, `latency@edge#2`, … */
export function entryNames(entries: readonly TimelineEntry[]): string[] {
  const seen = new Map<string, number>();
  return entries.map((entry) => {
    if (entry.name) return entry.name;
    const base = `${entry.fault.kind}@${faultTarget(entry.fault)}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

/**
 * Every problem of a timeline, each naming its entry: `chaos[1] starts at 400s but the load ends at
 * 300s`. Checks the faults, the times against the load, unique names, and that no two entries of the
 * same kind on the same target (and direction) overlap.
 */
export function validateTimeline(
  entries: readonly unknown[],
  loadDurationS?: number,
  path = "chaos",
): string[] {
  const problems: string[] = [];
  const valid: { index: number; entry: TimelineEntry }[] = [];
  entries.forEach((raw, index) => {
    const at = `${path}[${index}]`;
    if (typeof raw !== "object" || raw === null) {
      problems.push(`${at}: ${JSON.stringify(raw)} is not a timeline entry ({ at, for, fault })`);
      return;
    }
    const entry = raw as Record<string, unknown>;
    const before = problems.length;
    for (const field of ["at", "for"] as const) {
      const value = entry[field];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        problems.push(`${at}.${field}: ${JSON.stringify(value)} is not a number of seconds`);
      } else if (value < 0) problems.push(`${at}.${field}: ${value} must be >= 0`);
    }
    if (entry.name !== undefined && (typeof entry.name !== "string" || !/^[\w.@#:-]+$/.test(entry.name))) {
      problems.push(`${at}.name: ${JSON.stringify(entry.name)} must be letters, digits and . @ # : - _`);
    }
    for (const field of Object.keys(entry)) {
      if (!["name", "at", "for", "fault", "condition"].includes(field)) {
        problems.push(`${at}.${field}: not a field of a timeline entry (name, at, for, fault, condition)`);
      }
    }
    if (entry.condition !== undefined && typeof entry.condition !== "boolean") {
      problems.push(`${at}.condition: ${JSON.stringify(entry.condition)} is not true or false`);
    }
    problems.push(...validateFault(entry.fault, `${at}.fault`));
    if (problems.length > before) return;
    const e = raw as TimelineEntry;
    if (loadDurationS !== undefined) {
      if (e.at >= loadDurationS) {
        problems.push(`${at} starts at ${e.at}s but the load ends at ${loadDurationS}s`);
        return;
      }
      if (e.at + e.for > loadDurationS) {
        problems.push(`${at} ends at ${e.at + e.for}s but the load ends at ${loadDurationS}s`);
      }
    }
    valid.push({ index, entry: e });
  });
  const names = entryNames(valid.map((v) => v.entry));
  const byName = new Map<string, number>();
  valid.forEach(({ index }, i) => {
    const name = names[i]!;
    const other = byName.get(name);
    if (other !== undefined)
      problems.push(`${path}[${index}].name: ${name} is also the name of ${path}[${other}]`);
    else byName.set(name, index);
  });
  for (let i = 0; i < valid.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = valid[j]!;
      const b = valid[i]!;
      if (!conflicts(a.entry.fault, b.entry.fault)) continue;
      // A condition's toxics are named apart from a fault's: the two stack on the link.
      if (Boolean(a.entry.condition) !== Boolean(b.entry.condition) && isToxicFault(a.entry.fault)) continue;
      const [aStart, aEnd] = [a.entry.at, a.entry.at + a.entry.for];
      const [bStart, bEnd] = [b.entry.at, b.entry.at + b.entry.for];
      const overlap = aStart === bStart || (aStart < bEnd && bStart < aEnd);
      if (overlap) {
        problems.push(
          `${path}[${b.index}] (${b.entry.fault.kind} on ${faultTarget(b.entry.fault)}, ${bStart}s–${bEnd}s) ` +
            `overlaps ${path}[${a.index}] (${aStart}s–${aEnd}s)`,
        );
      }
    }
  }
  return problems;
}

/**
 * Starts the timeline: each entry is applied at `startAtMs + at` and cleared at `+ for`. Throws a
 * ChaosError listing every problem when the entries are invalid.
 */
export function startTimeline(
  entries: readonly TimelineEntry[],
  ctx: ChaosContext,
  opts: TimelineOptions = {},
): StartedTimeline {
  const problems = validateTimeline(entries, opts.loadDurationS, opts.path);
  if (problems.length > 0) {
    throw new ChaosError(`invalid chaos timeline:\n  ${problems.join("\n  ")}`, {});
  }
  const clock = opts.clock ?? realClock;
  const startedAtMs = opts.startAtMs ?? clock.now();
  const controller = new AbortController();
  let abortReason: string | undefined;
  const names = entryNames(entries);
  const records: EntryRecord[] = entries.map((entry, index) => ({
    index,
    name: names[index]!,
    description: describeFault(entry.fault),
    kind: entry.fault.kind,
    target: faultTarget(entry.fault),
    atS: entry.at,
    forS: entry.for,
    status: "pending",
    ...(entry.condition ? { condition: true } : {}),
    facts: {},
  }));
  const instant = (): Instant => {
    const now = clock.now();
    return { iso: new Date(now).toISOString(), sinceStartS: (now - startedAtMs) / 1000 };
  };
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

  const clear = async (record: EntryRecord, applied: AppliedFault) => {
    record.status = "clearing";
    record.clearedBy = controller.signal.aborted ? "abort" : "schedule";
    try {
      Object.assign(record.facts, await applied.clear());
      record.clearedAt = instant();
      record.status = "cleared";
    } catch (error) {
      record.clearError = message(error);
      record.status = "clear-failed";
    }
  };

  const runEntry = async (entry: TimelineEntry, record: EntryRecord) => {
    const signal = controller.signal;
    await clock.sleep(startedAtMs + entry.at * 1000 - clock.now(), signal);
    if (signal.aborted) {
      record.status = "skipped";
      return;
    }
    record.status = "applying";
    let applied: AppliedFault;
    try {
      applied = await applyFault(entry.fault, ctx, entry.condition ? { toxicPrefix: "condition_" } : {});
    } catch (error) {
      record.error = message(error);
      record.status = "failed";
      return;
    }
    record.appliedAt = instant();
    record.status = "active";
    Object.assign(record.facts, applied.facts);
    await clock.sleep(startedAtMs + (entry.at + entry.for) * 1000 - clock.now(), signal);
    await clear(record, applied);
  };

  let unregister: (() => void) | undefined;
  const done = Promise.all(entries.map((entry, i) => runEntry(entry, records[i]!))).then(
    (): TimelineResult => {
      unregister?.();
      return {
        startedAt: new Date(startedAtMs).toISOString(),
        endedAt: new Date(clock.now()).toISOString(),
        aborted: controller.signal.aborted,
        ...(abortReason !== undefined ? { abortReason } : {}),
        entries: records.map((r) => ({ ...r, facts: { ...r.facts } })),
      };
    },
  );

  const abort = (reason = "aborted") => {
    if (!controller.signal.aborted) {
      abortReason = reason;
      controller.abort(reason);
    }
    return done;
  };
  if (opts.clearOnShutdown ?? true) {
    unregister = onShutdown(async () => {
      await abort("interrupted");
    });
  }

  return {
    done,
    startedAtMs,
    records: () => records.map((r) => ({ ...r, facts: { ...r.facts } })),
    abort,
    [Symbol.asyncDispose]: async () => {
      await abort("disposed");
    },
  };
}

// ---- phases ---------------------------------------------------------------------------------------

export interface Phase {
  /** `baseline`, `fault:<entry name>` or `recovery`. */
  name: string;
  kind: "baseline" | "fault" | "recovery";
  startS: number;
  endS: number;
  /** fault: its entry's index. */
  entry?: number;
  /** recovery: the fault whose clear began it (the last one to clear). */
  after?: string;
}

/**
 * The phases of a run, from its timeline: `baseline` before the first fault, a `fault:<name>` window
 * per entry (windows of different links may overlap), and `recovery` from each moment no fault is
 * active any more until the next fault starts or the load ends. Zero-length phases are left out.
 */
export function phasesOf(entries: readonly TimelineEntry[], loadDurationS: number): Phase[] {
  const names = entryNames(entries);
  const windows = entries
    .map((entry, index) => ({
      index,
      name: names[index]!,
      startS: Math.min(entry.at, loadDurationS),
      endS: Math.min(entry.at + entry.for, loadDurationS),
      condition: entry.condition === true,
    }))
    .filter((w) => !w.condition)
    .sort((a, b) => a.startS - b.startS || a.index - b.index);
  const phases: Phase[] = [];
  const firstStart = windows[0]?.startS ?? loadDurationS;
  if (firstStart > 0) phases.push({ name: "baseline", kind: "baseline", startS: 0, endS: firstStart });
  for (const w of windows) {
    if (w.endS > w.startS) {
      phases.push({ name: `fault:${w.name}`, kind: "fault", startS: w.startS, endS: w.endS, entry: w.index });
    }
  }
  // Merge the windows into blocks of continuous fault activity; a recovery follows each block.
  let i = 0;
  while (i < windows.length) {
    let blockEnd = windows[i]!.endS;
    let last = windows[i]!;
    let j = i + 1;
    while (j < windows.length && windows[j]!.startS < blockEnd) {
      if (windows[j]!.endS >= blockEnd) {
        blockEnd = windows[j]!.endS;
        last = windows[j]!;
      }
      j++;
    }
    const next = j < windows.length ? windows[j]!.startS : loadDurationS;
    if (next > blockEnd) {
      phases.push({ name: "recovery", kind: "recovery", startS: blockEnd, endS: next, after: last.name });
    }
    i = j;
  }
  const order = { baseline: 0, fault: 1, recovery: 2 };
  return phases.sort((a, b) => a.startS - b.startS || order[a.kind] - order[b.kind]);
}
