import { Counter, Gauge, Trend } from "k6/metrics";
import type { Operation, Outcome } from "../plan.ts";
import { timeoutKind } from "./outcome.ts";

// posstorm's k6 metrics. Tags stay low-cardinality: op, outcome, code (F39), kind, event; never a TID or STAN,
// except on pos_unsettled: one sample per purchase the terminal did not see approved, so reconciliation
// (harness/report/reconcile.ts) can find it in the issuers' ledgers. Low volume: a run's timed-out purchases.
//
// | metric                 | type    | tags                      | meaning                                                  |
// | ---------------------- | ------- | ------------------------- | -------------------------------------------------------- |
// | pos_ops                | Counter | op, outcome, code (reply) | one per operation: its single outcome                    |
// | pos_op_duration        | Trend ms| op, outcome               | operation start (connect included) → outcome             |
// | pos_timeouts           | Counter | op, kind                  | kind connect / response / idle                           |
// | pos_retries            | Counter | op                        | sign-in retries by policy; reversal attempts after the 1st|
// | pos_signed_in          | Gauge   |                           | terminals signed in ON THIS VU (last writer wins across   |
// |                        |         |                           | VUs; exact with one VU): integrate pos_session_changes   |
// | pos_session_changes    | Counter | change: signed-in|signed-out | each session gained or lost; Σ signed-in − Σ signed-out |
// |                        |         |                           | over all VUs = terminals signed in at that moment        |
// | pos_reversals_pending  | Gauge   |                           | reversals owed ON THIS VU (same caveat as pos_signed_in) |
// | pos_reversal_events    | Counter | event: queued|settled|abandoned | Σ queued − settled − abandoned = pending, all VUs  |
// | pos_unsettled          | Counter | tid, stan, batch, reason  | one per purchase sent and not approved at the terminal:  |
// |                        |         |                           | tid F41, stan F11 (6 digits), batch F60.2 (6 digits);    |
// |                        |         |                           | reason: F39 of the 0400 it queues (98/A0/06), or         |
// |                        |         |                           | declined:<F39> for a decline (nothing to reverse)        |
// | pos_skipped            | Counter | op, reason                | operations not attempted: not-signed-in (no session after |
// |                        |         |                           | sign-in retries) or reversal-pending (its reversal failed) |
// | pos_schedule_lag       | Trend ms|                           | population: how late a sign-in or purchase started against |
// |                        |         |                           | its planned time (an overloaded k6 shows here first)     |

export const posOps = new Counter("pos_ops");
export const posOpDuration = new Trend("pos_op_duration", true);
export const posTimeouts = new Counter("pos_timeouts");
export const posRetries = new Counter("pos_retries");
export const posSignedIn = new Gauge("pos_signed_in");
export const posSessionChanges = new Counter("pos_session_changes");
export const posReversalsPending = new Gauge("pos_reversals_pending");
export const posReversalEvents = new Counter("pos_reversal_events");
export const posUnsettled = new Counter("pos_unsettled");
export const posSkipped = new Counter("pos_skipped");
export const posScheduleLag = new Trend("pos_schedule_lag", true);

/** Per-VU state behind the gauges. */
let signedIn = 0;
let reversalsPending = 0;

/** Records the one outcome of an operation that started at `startedAt` (ms since the epoch). */
export function recordOutcome(op: Operation, outcome: Outcome, startedAt: number, code?: string): void {
  posOps.add(1, code === undefined ? { op, outcome } : { op, outcome, code });
  posOpDuration.add(Date.now() - startedAt, { op, outcome });
  const kind = timeoutKind(outcome);
  if (kind !== undefined) posTimeouts.add(1, { op, kind });
}

export function recordSession(change: "signed-in" | "signed-out"): void {
  signedIn += change === "signed-in" ? 1 : -1;
  posSessionChanges.add(1, { change });
  posSignedIn.add(signedIn);
}

export function recordReversal(event: "queued" | "settled" | "abandoned"): void {
  reversalsPending += event === "queued" ? 1 : -1;
  posReversalEvents.add(1, { event });
  posReversalsPending.add(reversalsPending);
}

/** A purchase the terminal did not see approved (declined, or owing a reversal): its identity at the issuer. */
export function recordUnsettled(purchase: {
  tid: string;
  stan: string;
  batch: string;
  reason: string;
}): void {
  posUnsettled.add(1, purchase);
}

export function recordRetry(op: Operation): void {
  posRetries.add(1, { op });
}

export function recordSkipped(op: Operation, reason: "not-signed-in" | "reversal-pending"): void {
  posSkipped.add(1, { op, reason });
}

/** How late work planned for `plannedAt` (ms since the epoch) starts now. */
export function recordScheduleLag(plannedAt: number): void {
  posScheduleLag.add(Math.max(0, Date.now() - plannedAt));
}
