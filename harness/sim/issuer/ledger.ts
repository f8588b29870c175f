// The issuer's ledger: every purchase it decided and what reversals did to it. Reconciliation reads it after
// a run: an entry still `approved` whose terminal saw a timeout is a one-sided transaction. An original is
// identified by TID (F41) + STAN (F11) + batch (F60.2), as the switch reverses it.

export type LedgerStatus = "approved" | "declined" | "reversed";

/** Times are ms since the epoch. Amounts are F4's 12 digits (minor units). The PAN is masked. */
export interface LedgerEntry {
  tid: string;
  stan: string;
  batch: string;
  /** Masked (`6222 02** **** 1234`); empty when the 0200 had no F2. */
  pan: string;
  amount: string;
  /** F39 of the 0210. */
  responseCode: string;
  /** F38 of an approved 0210. */
  authCode?: string;
  /** F37 of an approved 0210. */
  rrn?: string;
  status: LedgerStatus;
  receivedAt: number;
  /** When the 0210 was decided and written. */
  repliedAt: number;
  /** False when the connection had closed before the 0210 could be written (the switch never saw it). */
  replySent: boolean;
  reversedAt?: number;
  /** 0400s received for this original (retries included). */
  reversalAttempts: number;
}

/** An 0400 whose original the issuer never saw (answered 25). */
export interface UnmatchedReversal {
  tid: string;
  stan: string;
  batch: string;
  amount: string;
  /** First 0400, ms since the epoch. */
  receivedAt: number;
  attempts: number;
}

export interface LedgerSummary {
  /** Approved and not reversed. */
  approved: number;
  declined: number;
  reversed: number;
  /** Distinct originals an 0400 asked for that were never seen. */
  reversalsNotFound: number;
}

export interface LedgerFilter {
  status?: LedgerStatus;
  tid?: string;
}

/** Reversal outcome: `00` reversed (now or before), `12` original declined, `25` original not found. */
export type ReversalCode = "00" | "12" | "25";

export function ledgerKey(tid: string, stan: string, batch: string): string {
  return `${tid}|${stan}|${batch}`;
}

export class Ledger {
  private readonly byKey = new Map<string, LedgerEntry>();
  private readonly unmatched = new Map<string, UnmatchedReversal>();

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get(key: string): LedgerEntry | undefined {
    return this.byKey.get(key);
  }

  record(entry: LedgerEntry): void {
    this.byKey.set(ledgerKey(entry.tid, entry.stan, entry.batch), entry);
  }

  /** Applies an 0400 for `original` received at `at`; idempotent for an original already reversed. */
  reverse(original: Omit<UnmatchedReversal, "receivedAt" | "attempts">, at: number): ReversalCode {
    const key = ledgerKey(original.tid, original.stan, original.batch);
    const entry = this.byKey.get(key);
    if (!entry) {
      const seen = this.unmatched.get(key);
      if (seen) seen.attempts++;
      else this.unmatched.set(key, { ...original, receivedAt: at, attempts: 1 });
      return "25";
    }
    entry.reversalAttempts++;
    if (entry.status === "declined") return "12";
    if (entry.status === "approved") {
      entry.status = "reversed";
      entry.reversedAt = at;
    }
    return "00";
  }

  entries(filter: LedgerFilter = {}): LedgerEntry[] {
    return [...this.each(filter)];
  }

  /** The entries in the order they were recorded, one at a time (a ledger of a long run is large). */
  *each(filter: LedgerFilter = {}): Generator<LedgerEntry> {
    for (const entry of this.byKey.values()) {
      if (filter.status && entry.status !== filter.status) continue;
      if (filter.tid && entry.tid !== filter.tid) continue;
      yield entry;
    }
  }

  reversalsNotFound(): UnmatchedReversal[] {
    return [...this.unmatched.values()];
  }

  summary(): LedgerSummary {
    const summary: LedgerSummary = {
      approved: 0,
      declined: 0,
      reversed: 0,
      reversalsNotFound: this.unmatched.size,
    };
    for (const entry of this.byKey.values()) summary[entry.status]++;
    return summary;
  }

  reset(): void {
    this.byKey.clear();
    this.unmatched.clear();
  }
}

/**
 * `entries` as NDJSON (one JSON entry per line, each line ending in \n), in chunks of about `chunkChars`:
 * GET /ledger?format=ndjson, which `posstorm run` collects into collected/issuer-<name>.ledger.ndjson.gz.
 */
export function* ledgerNdjson(entries: Iterable<LedgerEntry>, chunkChars = 1 << 16): Generator<string> {
  let chunk = "";
  for (const entry of entries) {
    chunk += `${JSON.stringify(entry)}\n`;
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk) yield chunk;
}
