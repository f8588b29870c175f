import type { Operation, Outcome } from "./plan.ts";

// What the terminal model reports, and to whom. A segment passes one Recorder to all its terminals; it turns each call
// into per-second counts, histograms and raw samples (segment-recorder.ts). Times are on the engine clock
// (clock.ts: ms since the epoch, fractional).

export type SessionChange = "signed-in" | "signed-out";
export type ReversalEvent = "queued" | "settled" | "abandoned";
/** Why an operation was not attempted: no session after the sign-in retries, or its reversal is still owed. */
/**
 * Why an operation has no outcome: no session could be had, a reversal is still owed, or the terminal lost
 * power right after sending it (a power-loss fault: it never read a reply, and owes the reversal).
 */
export type SkipReason = "not-signed-in" | "reversal-pending" | "power-lost";

/**
 * A purchase the terminal did not see approved, by its identity at the issuer: tid F41, stan F11 (6 digits),
 * batch F60.2 (6 digits); reason the F39 of the 0400 it queues (98/A0/06), or `declined:<F39>`.
 */
export interface UnsettledPurchase {
  tid: string;
  stan: string;
  batch: string;
  reason: string;
}

export interface Recorder {
  /**
   * The one outcome of an operation. `intendedStartMs`: when it was meant to start (an open-model arrival's
   * or a scheduled start's time; else its actual start); `lagMs`: actual start − intended start (≥ 0);
   * `code`: F39 of the reply, when there was one.
   */
  recordOutcome(
    tid: string,
    op: Operation,
    outcome: Outcome,
    intendedStartMs: number,
    lagMs: number,
    code?: string,
  ): void;
  recordSession(tid: string, change: SessionChange): void;
  recordReversal(tid: string, event: ReversalEvent): void;
  recordUnsettled(purchase: UnsettledPurchase): void;
  /** A sign-in retry by the policy, or a reversal attempt after the first. */
  recordRetry(tid: string, op: Operation): void;
  recordSkipped(tid: string, op: Operation, reason: SkipReason): void;
  /** How late a scheduled start (population sign-in or purchase, open-model arrival) began, ms ≥ 0. */
  recordScheduleLag(lagMs: number): void;
  /** A line for the operator (the first failure of each kind); never card data. */
  log(line: string): void;
}
