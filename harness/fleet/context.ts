import type { FleetConditions } from "./conditions.ts";
import type { Operation, Outcome, RunPlan } from "./plan.ts";
import type { Recorder } from "./recorder.ts";
import type { Random } from "./schedule.ts";
import type { Framing } from "./terminal.ts";

// What every terminal of a segment shares: the plan, the deadline, randomness, the recorder, and the
// segment's sleeps (which an abort wakes at once). One per segment, so terminals hold a single reference.

export interface FleetContext {
  readonly plan: RunPlan;
  /** The lab key (16 bytes); each terminal derives its TMK from it when it signs in (no keysFile). */
  readonly labKey: Uint8Array;
  /** How frames go on the wire after the length the link strips: the dialect's TPDU and header, or not. */
  readonly framing: Framing;
  /** Terminal i's TID: the prefix and a number, or row i of the plan's keysFile. */
  tidOf(i: number): string;
  /** A terminal's master key: derived from the lab key, or read from the plan's keysFile. */
  tmkOf(tid: string): Uint8Array;
  /** Engine-clock time (clock.ts) at and after which no operation starts: load start + durationS. */
  readonly deadlineMs: number;
  readonly random: Random;
  readonly recorder: Recorder;
  /** Resolves after `ms`, or at once when the segment is aborted. */
  sleep(ms: number): Promise<void>;
  /** Calls `fn` after `ms`, or at once when the segment is aborted; the function returned cancels it. */
  timer(ms: number, fn: () => void): () => void;
  /** True once the segment is aborted: nothing more starts. */
  readonly aborted: boolean;
  /** What the run imposes on the terminals now (fleet-side faults such as power loss). */
  readonly conditions: FleetConditions;
  /** TCP connections the segment's terminals opened (connected), for reconnection counts. */
  readonly sockets: { opened: number };
  /** `op outcome` pairs already logged by this segment (logOnce). */
  readonly logged: Set<string>;
}

/** Logs the first occurrence of each op + outcome per segment, so a broken run explains itself without a flood. */
export function logOnce(
  ctx: FleetContext,
  tid: string,
  op: Operation,
  outcome: Outcome,
  detail: string,
): void {
  const key = `${op} ${outcome}`;
  if (ctx.logged.has(key)) return;
  ctx.logged.add(key);
  ctx.recorder.log(`posstorm terminal ${tid}: ${op} → ${outcome}: ${detail}`);
}
