import { timeoutKind } from "./outcome.ts";
import { OPERATIONS, type Operation, OUTCOMES, type Outcome } from "./plan.ts";
import type { ReversalEvent, SessionChange, SkipReason } from "./recorder.ts";
import type { Sample } from "./samples.ts";

// Counts of what a fleet did, as plain data: per second in a segment, merged per second by the coordinator,
// and for the whole run. Counts only add up, so deltas from any segment at any time merge exactly.

/** F39 key of an operation without a reply code (timeouts, socket failures, protocol and MAC failures). */
export const NO_CODE = "";

export interface Counts {
  /** Operations ended: op → outcome → F39 of the reply (NO_CODE when none) → count. */
  ops: Partial<Record<Operation, Partial<Record<Outcome, Record<string, number>>>>>;
  /** Sign-in retries by the policy; reversal attempts after the first. */
  retries: Partial<Record<Operation, number>>;
  /** Operations not attempted, by reason. */
  skipped: Partial<Record<Operation, Partial<Record<SkipReason, number>>>>;
  /** Σ queued − settled − abandoned = reversals still owed. */
  reversals: Record<ReversalEvent, number>;
  /** Σ signed-in − signed-out = terminals signed in. */
  sessions: Record<SessionChange, number>;
  /** Purchases sent and not seen approved (each also a sample with tid, stan, batch, reason). */
  unsettled: number;
  /** Open-model arrivals that found no free terminal (all busy or the concurrency cap reached). */
  dropped: number;
}

export function newCounts(): Counts {
  return {
    ops: {},
    retries: {},
    skipped: {},
    reversals: { queued: 0, settled: 0, abandoned: 0 },
    sessions: { "signed-in": 0, "signed-out": 0 },
    unsettled: 0,
    dropped: 0,
  };
}

export function countOp(counts: Counts, op: Operation, outcome: Outcome, code: string, by = 1): void {
  const byCode = child(child(counts.ops, op), outcome);
  byCode[code] = (byCode[code] ?? 0) + by;
}

/** Adds every count of `from` into `into`. */
export function addCounts(into: Counts, from: Counts): void {
  for (const [op, byOutcome] of entries(from.ops)) {
    for (const [outcome, byCode] of entries(byOutcome)) {
      for (const [code, n] of Object.entries(byCode)) countOp(into, op, outcome, code, n);
    }
  }
  for (const [op, n] of entries(from.retries)) into.retries[op] = (into.retries[op] ?? 0) + n;
  for (const [op, byReason] of entries(from.skipped)) {
    const mine = child(into.skipped, op);
    for (const [reason, n] of entries(byReason)) mine[reason] = (mine[reason] ?? 0) + n;
  }
  for (const [event, n] of entries(from.reversals)) into.reversals[event] += n;
  for (const [change, n] of entries(from.sessions)) into.sessions[change] += n;
  into.unsettled += from.unsettled;
  into.dropped += from.dropped;
}

/** Operations counted, optionally of one op and one outcome. */
export function opsCounted(counts: Counts, op?: Operation, outcome?: Outcome): number {
  let total = 0;
  for (const [o, byOutcome] of entries(counts.ops)) {
    if (op !== undefined && o !== op) continue;
    for (const [out, byCode] of entries(byOutcome)) {
      if (outcome !== undefined && out !== outcome) continue;
      for (const n of Object.values(byCode)) total += n;
    }
  }
  return total;
}

/** Timeouts per operation by kind (connect, response, idle). */
export type TimeoutCounts = Partial<Record<Operation, { connect: number; response: number; idle: number }>>;

export function timeoutsOf(counts: Counts): TimeoutCounts {
  const out: TimeoutCounts = {};
  for (const [op, byOutcome] of entries(counts.ops)) {
    const kinds = { connect: 0, response: 0, idle: 0 };
    for (const [outcome, byCode] of entries(byOutcome)) {
      const kind = timeoutKind(outcome);
      if (kind !== undefined) for (const n of Object.values(byCode)) kinds[kind] += n;
    }
    out[op] = kinds;
  }
  return out;
}

/** Whether nothing was counted. */
export function isEmpty(counts: Counts): boolean {
  return (
    Object.keys(counts.ops).length === 0 &&
    Object.keys(counts.retries).length === 0 &&
    Object.keys(counts.skipped).length === 0 &&
    counts.reversals.queued + counts.reversals.settled + counts.reversals.abandoned === 0 &&
    counts.sessions["signed-in"] + counts.sessions["signed-out"] === 0 &&
    counts.unsettled === 0 &&
    counts.dropped === 0
  );
}

/** record[key], an empty object put there first when missing. */
export function child<K extends string, V extends object>(record: Partial<Record<K, V>>, key: K): V {
  const value = record[key];
  if (value !== undefined) return value;
  const created = {} as V;
  record[key] = created;
  return created;
}

/** Object.entries with the record's key type, for the partial records above. */
function entries<K extends string, V>(record: Partial<Record<K, V>>): [K, V][] {
  return Object.entries(record) as [K, V][];
}

/** A run's counts as run.json keeps them (`outcomes`): every op and outcome listed, 0 when none. */
export interface OutcomeCounts {
  /** op → outcome → operations. */
  byOutcome: Record<Operation, Record<Outcome, number>>;
  /** op → F39 → operations that got a reply with it. */
  byCode: Record<Operation, Record<string, number>>;
  /** op → timeout kind → operations. */
  timeouts: Record<Operation, { connect: number; response: number; idle: number }>;
  /** op → retries (sign-in retries by policy; reversal attempts after the first). */
  retries: Record<Operation, number>;
  /** op → operations not attempted, by reason. */
  skipped: Record<Operation, Partial<Record<SkipReason, number>>>;
  /** op → operations of any outcome. */
  total: Record<Operation, number>;
  reversals: { queued: number; settled: number; abandoned: number };
  sessions: { signedIn: number; signedOut: number };
  /** Purchases sent and not seen approved. */
  unsettled: number;
  /** Open-model arrivals that found no free terminal. */
  dropped: number;
}

export function outcomeCounts(counts: Counts): OutcomeCounts {
  const perOp = <T>(fn: (op: Operation) => T) =>
    Object.fromEntries(OPERATIONS.map((op) => [op, fn(op)])) as Record<Operation, T>;
  const timeouts = timeoutsOf(counts);
  return {
    byOutcome: perOp(
      (op) =>
        Object.fromEntries(OUTCOMES.map((o) => [o, opsCounted(counts, op, o)])) as Record<Outcome, number>,
    ),
    byCode: perOp((op) => {
      const byCode: Record<string, number> = {};
      for (const codes of Object.values(counts.ops[op] ?? {})) {
        for (const [code, n] of Object.entries(codes))
          if (code !== NO_CODE) byCode[code] = (byCode[code] ?? 0) + n;
      }
      return byCode;
    }),
    timeouts: perOp((op) => timeouts[op] ?? { connect: 0, response: 0, idle: 0 }),
    retries: perOp((op) => counts.retries[op] ?? 0),
    skipped: perOp((op) => ({ ...counts.skipped[op] })),
    total: perOp((op) => opsCounted(counts, op)),
    reversals: { ...counts.reversals },
    sessions: { signedIn: counts.sessions["signed-in"], signedOut: counts.sessions["signed-out"] },
    unsettled: counts.unsettled,
    dropped: counts.dropped,
  };
}

/** Adds one raw record (an operation's outcome or an event) to `counts`, as runFleet's totals count it. */
export function countSample(counts: Counts, s: Sample): void {
  if (!("ev" in s)) {
    countOp(counts, s.op, s.outcome, s.code ?? NO_CODE);
    return;
  }
  switch (s.ev) {
    case "session":
      counts.sessions[s.change]++;
      break;
    case "reversal":
      counts.reversals[s.event]++;
      break;
    case "unsettled":
      counts.unsettled++;
      break;
    case "retry":
      counts.retries[s.op] = (counts.retries[s.op] ?? 0) + 1;
      break;
    case "skipped": {
      const byReason = counts.skipped[s.op] ?? {};
      byReason[s.reason] = (byReason[s.reason] ?? 0) + 1;
      counts.skipped[s.op] = byReason;
      break;
    }
    case "dropped":
      counts.dropped++;
      break;
  }
}
