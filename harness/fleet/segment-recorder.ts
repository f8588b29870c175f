import { nowMs } from "./clock.ts";
import { type Counts, child, countOp, NO_CODE, newCounts } from "./counts.ts";
import { encodeHistogram, type Histogram, newHistogram, recordValue } from "./histogram.ts";
import type { Operation, Outcome } from "./plan.ts";
import type { Recorder, ReversalEvent, SessionChange, SkipReason, UnsettledPurchase } from "./recorder.ts";
import { sampleLine, tenthMs } from "./samples.ts";
import type { WireSecond } from "./wire.ts";

// The Recorder of one segment: every call becomes a raw sample line and a count in the second it belongs to
// (operations: their intended start; events: when they happen). The segment drains both (takeSamples once
// per batch, takeSeconds once a second) and sends them; nothing is kept after a drain.

interface SecondAcc {
  counts: Counts;
  /** `op outcome` → histogram of intended start → outcome, whole ms. */
  latency: Map<string, Histogram>;
}

/** Lateness of scheduled starts and dropped arrivals over the current wall second (self-watch). */
export interface StartStats {
  starts: number;
  /** Lateness in µs. */
  lagUs: Histogram;
  dropped: number;
  busyMax: number;
}

export class SegmentRecorder implements Recorder {
  readonly segment: number;
  private readonly startAtMs: number;
  private readonly logLine: (line: string) => void;
  private seconds = new Map<number, SecondAcc>();
  private lines: string[] = [];
  private stats: StartStats = newStartStats();
  /** After close(): calls are ignored (an aborted segment's last operations are not outcomes). */
  private closed = false;

  constructor(segment: number, startAtMs: number, log: (line: string) => void) {
    this.segment = segment;
    this.startAtMs = startAtMs;
    this.logLine = log;
  }

  close(): void {
    this.closed = true;
  }

  /** Sample lines recorded since the last call (NDJSON text), and how many. */
  takeSamples(): { lines: string; count: number } {
    const lines = this.lines;
    this.lines = [];
    return { lines: lines.join(""), count: lines.length };
  }

  /** The per-second deltas recorded since the last call, oldest second first. */
  takeSeconds(): WireSecond[] {
    const out: WireSecond[] = [];
    for (const second of [...this.seconds.keys()].sort((a, b) => a - b)) {
      const acc = this.seconds.get(second)!;
      const latency: WireSecond["latency"] = [];
      for (const [key, histogram] of acc.latency) {
        const [op, outcome] = key.split(" ") as [Operation, Outcome];
        latency.push({ op, outcome, histogram: encodeHistogram(histogram) });
      }
      out.push({ second, counts: acc.counts, latency });
    }
    this.seconds = new Map();
    return out;
  }

  /** Self-watch figures of starts since the last call. */
  takeStartStats(): StartStats {
    const stats = this.stats;
    this.stats = newStartStats();
    return stats;
  }

  recordOutcome(
    tid: string,
    op: Operation,
    outcome: Outcome,
    intendedStartMs: number,
    lagMs: number,
    code?: string,
  ): void {
    if (this.closed) return;
    const now = nowMs();
    const acc = this.second(intendedStartMs);
    countOp(acc.counts, op, outcome, code ?? NO_CODE);
    const key = `${op} ${outcome}`;
    let histogram = acc.latency.get(key);
    if (histogram === undefined) {
      histogram = newHistogram();
      acc.latency.set(key, histogram);
    }
    const ms = now - intendedStartMs;
    recordValue(histogram, ms);
    const t = tenthMs(intendedStartMs - this.startAtMs);
    const segment = this.segment;
    const base = { t, op, outcome };
    this.lines.push(
      sampleLine(
        code === undefined
          ? { ...base, ms: tenthMs(ms), lag: tenthMs(lagMs), tid, segment }
          : { ...base, code, ms: tenthMs(ms), lag: tenthMs(lagMs), tid, segment },
      ),
    );
  }

  recordSession(tid: string, change: SessionChange): void {
    if (this.closed) return;
    const now = nowMs();
    this.second(now).counts.sessions[change]++;
    this.lines.push(sampleLine({ t: this.at(now), ev: "session", change, tid, segment: this.segment }));
  }

  recordReversal(tid: string, event: ReversalEvent): void {
    if (this.closed) return;
    const now = nowMs();
    this.second(now).counts.reversals[event]++;
    this.lines.push(sampleLine({ t: this.at(now), ev: "reversal", event, tid, segment: this.segment }));
  }

  recordUnsettled(purchase: UnsettledPurchase): void {
    if (this.closed) return;
    const now = nowMs();
    this.second(now).counts.unsettled++;
    const { tid, stan, batch, reason } = purchase;
    const t = this.at(now);
    this.lines.push(sampleLine({ t, ev: "unsettled", tid, stan, batch, reason, segment: this.segment }));
  }

  recordRetry(tid: string, op: Operation): void {
    if (this.closed) return;
    const now = nowMs();
    const retries = this.second(now).counts.retries;
    retries[op] = (retries[op] ?? 0) + 1;
    this.lines.push(sampleLine({ t: this.at(now), ev: "retry", op, tid, segment: this.segment }));
  }

  recordSkipped(tid: string, op: Operation, reason: SkipReason): void {
    if (this.closed) return;
    const now = nowMs();
    const byReason = child(this.second(now).counts.skipped, op);
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    this.lines.push(sampleLine({ t: this.at(now), ev: "skipped", op, reason, tid, segment: this.segment }));
  }

  recordScheduleLag(lagMs: number): void {
    if (this.closed) return;
    this.stats.starts++;
    recordValue(this.stats.lagUs, lagMs * 1000);
  }

  /** An open-model arrival meant for `intendedMs` found no free terminal. */
  recordDropped(op: Operation, intendedMs: number): void {
    if (this.closed) return;
    this.second(intendedMs).counts.dropped++;
    this.stats.dropped++;
    this.lines.push(sampleLine({ t: this.at(intendedMs), ev: "dropped", op, segment: this.segment }));
  }

  /** Terminals busy now (the self-watch keeps the largest per second). */
  noteBusy(busy: number): void {
    if (busy > this.stats.busyMax) this.stats.busyMax = busy;
  }

  log(line: string): void {
    this.logLine(line);
  }

  private at(timeMs: number): number {
    return tenthMs(timeMs - this.startAtMs);
  }

  private second(timeMs: number): SecondAcc {
    const second = Math.max(0, Math.floor((timeMs - this.startAtMs) / 1000));
    let acc = this.seconds.get(second);
    if (acc === undefined) {
      acc = { counts: newCounts(), latency: new Map() };
      this.seconds.set(second, acc);
    }
    return acc;
  }
}

function newStartStats(): StartStats {
  return { starts: 0, lagUs: newHistogram(), dropped: 0, busyMax: 0 };
}
