import type { Operation, Outcome } from "./plan.ts";
import type { ReversalEvent, SessionChange, SkipReason } from "./recorder.ts";

// Raw samples: one record per operation and per fleet event, written by the coordinator as gzipped NDJSON
// (`samples.ndjson.gz`, one JSON object per line) so any figure of a run can be recounted. Compact keys, no
// card data (TIDs, STANs and batches only). Times: `t` in ms since load start with 0.1 ms resolution; for an
// operation its intended start, for an event when it happened (a dropped arrival: its intended time).

/** One operation and its single outcome. */
export interface OperationSample {
  t: number;
  op: Operation;
  outcome: Outcome;
  /** F39 of the reply, when there was one. */
  code?: string;
  /** Intended start → outcome, ms (0.1 ms resolution). */
  ms: number;
  /** Actual start − intended start, ms (0.1 ms resolution; 0 for an operation chained after another). */
  lag: number;
  tid: string;
  segment: number;
}

export interface SessionSample {
  t: number;
  ev: "session";
  change: SessionChange;
  tid: string;
  segment: number;
}

export interface ReversalSample {
  t: number;
  ev: "reversal";
  event: ReversalEvent;
  tid: string;
  segment: number;
}

/** A purchase sent and not seen approved: its identity at the issuer (F41, F11, F60.2) and why. */
export interface UnsettledSample {
  t: number;
  ev: "unsettled";
  tid: string;
  stan: string;
  batch: string;
  reason: string;
  segment: number;
}

export interface RetrySample {
  t: number;
  ev: "retry";
  op: Operation;
  tid: string;
  segment: number;
}

export interface SkippedSample {
  t: number;
  ev: "skipped";
  op: Operation;
  reason: SkipReason;
  tid: string;
  segment: number;
}

/** An open-model arrival that found no free terminal (all busy, or the concurrency cap reached). */
export interface DroppedSample {
  t: number;
  ev: "dropped";
  op: Operation;
  segment: number;
}

export type EventSample =
  | SessionSample
  | ReversalSample
  | UnsettledSample
  | RetrySample
  | SkippedSample
  | DroppedSample;

export type Sample = OperationSample | EventSample;

/** A duration or time in ms to 0.1 ms. */
export function tenthMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** The sample is an operation's (not an event's). */
export function isOperationSample(sample: Sample): sample is OperationSample {
  return !("ev" in sample);
}

/** One NDJSON line (with its newline). */
export function sampleLine(sample: Sample): string {
  return `${JSON.stringify(sample)}\n`;
}

/** The samples of an NDJSON text (blank lines skipped); a line that is not JSON throws naming its number. */
export function parseSampleLines(text: string, firstLine = 1): Sample[] {
  const out: Sample[] = [];
  let line = firstLine;
  for (const raw of text.split("\n")) {
    if (raw !== "") {
      try {
        out.push(JSON.parse(raw) as Sample);
      } catch (error) {
        throw new Error(`samples line ${line} is not JSON: ${(error as Error).message}`);
      }
    }
    line++;
  }
  return out;
}
