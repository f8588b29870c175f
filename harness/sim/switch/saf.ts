import type { Issuers } from "./issuers.ts";
import type { SwitchMetrics } from "./metrics.ts";

// Store-and-forward reversals. When the switch answers a terminal without knowing what the issuer did (issuer
// timeout, issuer connection lost, approval it could not deliver), it owes the issuer an 0400. The record is
// sent at once and again every `safRetryMs` until any 0410 for the same TID + STAN comes back (00 reversed,
// 12 original declined, 25 not found: the issuer's reversal is idempotent). An acknowledged record stays a
// while as a tombstone so that a late 0210 is recognised; a late approval re-opens the reversal, because the
// 0400 may have overtaken the purchase at the issuer.

/** Acknowledged records are kept this long to recognise late replies. */
const TOMBSTONE_MS = 10 * 60_000;
/** At most this many acknowledged records are kept (oldest dropped first). */
const MAX_TOMBSTONES = 200_000;
const SWEEP_MS = 30_000;

interface SafRecord {
  issuer: string;
  /** The 0400 frame, length included. */
  frame: Uint8Array;
  pending: boolean;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  /** When it was acknowledged (Date.now()). */
  ackedAt: number;
}

export interface PendingReversal {
  tid: string;
  stan: string;
  issuer: string;
  attempts: number;
}

export class StoreAndForward {
  readonly #records = new Map<string, SafRecord>();
  readonly #issuers: Issuers;
  readonly #metrics: SwitchMetrics;
  readonly #retryMs: () => number;
  readonly #sweep: NodeJS.Timeout;
  #pending = 0;
  #tombstones = 0;

  constructor(issuers: Issuers, metrics: SwitchMetrics, retryMs: () => number) {
    this.#issuers = issuers;
    this.#metrics = metrics;
    this.#retryMs = retryMs;
    this.#sweep = setInterval(() => this.#sweepTombstones(), SWEEP_MS);
    this.#sweep.unref();
  }

  /** Reversals not acknowledged yet. */
  get pending(): number {
    return this.#pending;
  }

  /** Whether the switch has (or had, recently) a reversal for this TID + STAN. */
  has(txKey: string): boolean {
    return this.#records.has(txKey);
  }

  /** Owes the issuer `frame` (an 0400) for `txKey` = TID + STAN; a record already pending is kept as it is. */
  queue(txKey: string, issuer: string, frame: Uint8Array): void {
    let record = this.#records.get(txKey);
    if (record?.pending) return;
    if (record) {
      this.#tombstones--;
      record.pending = true;
      record.issuer = issuer;
      record.frame = frame;
    } else {
      record = { issuer, frame, pending: true, attempts: 0, timer: undefined, ackedAt: 0 };
      this.#records.set(txKey, record);
    }
    this.#pending++;
    this.#metrics.reversals.inc({ event: "queued" });
    this.#attempt(record);
  }

  /** Sends an acknowledged reversal again (a late approval arrived after it). */
  reopen(txKey: string): void {
    const record = this.#records.get(txKey);
    if (record && !record.pending) this.queue(txKey, record.issuer, record.frame);
  }

  /** An 0410 for `txKey` came back with `code`. */
  acknowledged(txKey: string, code: string): boolean {
    const record = this.#records.get(txKey);
    if (!record?.pending) return false;
    record.pending = false;
    record.ackedAt = Date.now();
    clearTimeout(record.timer);
    record.timer = undefined;
    this.#pending--;
    this.#tombstones++;
    this.#metrics.reversals.inc({ event: "acknowledged", code });
    return true;
  }

  /** Pending reversals, for the admin API (no card data). */
  list(): PendingReversal[] {
    const out: PendingReversal[] = [];
    for (const [txKey, r] of this.#records) {
      if (r.pending)
        out.push({ tid: txKey.slice(0, -6), stan: txKey.slice(-6), issuer: r.issuer, attempts: r.attempts });
    }
    return out;
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const record of this.#records.values()) clearTimeout(record.timer);
  }

  #attempt(record: SafRecord): void {
    record.timer = undefined;
    if (!record.pending) return;
    if (this.#issuers.send(record.issuer, record.frame)) {
      record.attempts++;
      this.#metrics.reversals.inc({ event: "sent" });
    }
    record.timer = setTimeout(() => this.#attempt(record), this.#retryMs());
  }

  #sweepTombstones(): void {
    const oldest = Date.now() - TOMBSTONE_MS;
    for (const [txKey, r] of this.#records) {
      if (r.pending) continue;
      if (r.ackedAt < oldest || this.#tombstones > MAX_TOMBSTONES) {
        this.#records.delete(txKey);
        this.#tombstones--;
      }
    }
  }
}
