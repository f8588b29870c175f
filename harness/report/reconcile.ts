import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { maskPan } from "../protocol/index.ts";
import type { LedgerEntry } from "../sim/issuer/ledger.ts";
import type { UnsettledPurchase } from "./series.ts";

// Reconciliation after a run: the issuers' ledgers against what the terminals saw. A one-sided transaction is
// a purchase the issuer approved and never reversed while its terminal did not see the approval (it timed out,
// lost the connection or rejected the reply) and so owed a reversal that never arrived: the cardholder is
// charged for a sale the merchant thinks failed.
//
// The terminals' side is the k6 metric `pos_unsettled{tid, stan, batch, reason}`: one sample for each purchase
// that was sent and not approved at the terminal (the moment it queues a reversal). Low volume by design.

/** `collected/issuer-<name>.ledger.json`, as the issuer simulator's GET /ledger returns it. */
export interface LedgerFile {
  issuer: string;
  issuerId?: string;
  entries: LedgerEntry[];
}

export interface OneSidedTransaction {
  issuer: string;
  tid: string;
  stan: string;
  batch: string;
  /** Masked: first 6 and last 4 digits at most. */
  pan: string;
  /** F4, minor units. */
  amountMinor: number;
  authCode?: string;
  /** When the issuer approved it, seconds since load start. */
  approvedAtS: number;
  /** Whether the issuer's 0210 left it (false: the switch's link had closed). */
  replySent: boolean;
  /** What the terminal tagged: the reversal reason it would have sent. */
  terminalReason?: string;
}

export interface IssuerTally {
  issuer: string;
  /** Approved and not reversed. */
  approved: number;
  declined: number;
  reversed: number;
}

export interface Reconciliation {
  /** Ledgers were collected (false: no lab, or collection failed). */
  issuerSide: boolean;
  /**
   * `complete`: pos_unsettled samples, or no reversal was ever queued (nothing can be one-sided);
   * `missing`: reversals were queued but no pos_unsettled sample came (a terminal model without the metric).
   */
  terminalSide: "complete" | "missing";
  issuers: IssuerTally[];
  /** Purchases the terminals did not see approved (pos_unsettled samples). */
  unsettled: number;
  /** …of which the issuer reversed (the reversal arrived). */
  reversedAtIssuer: number;
  /** …of which the issuer never approved (declined, or never received). */
  notApprovedAtIssuer: number;
  /** Approved, never reversed, terminal did not see the approval; null when a side is missing. */
  oneSided: number | null;
  /** The first few one-sided transactions by approval time, PAN masked. */
  first: OneSidedTransaction[];
  /** Why oneSided is null. */
  note?: string;
}

export interface TerminalSide {
  unsettled: readonly UnsettledPurchase[];
  /** Σ pos_reversal_events{event: queued}: tells "none unsettled" from "metric not emitted". */
  reversalsQueued: number;
}

/** The ledger's PAN as reports show it: masked, also when the ledger wrote it whole (grouped by spaces or not). */
function maskedPan(pan: string): string {
  const digits = pan.replace(/[\s-]/g, "");
  return /^\d{8,19}$/.test(digits) ? maskPan(digits) : pan;
}

export function reconcile(
  ledgers: readonly LedgerFile[],
  terminal: TerminalSide,
  loadStartMs: number,
  limit = 10,
): Reconciliation {
  const issuers = ledgers.map((l) => {
    const tally: IssuerTally = { issuer: l.issuer, approved: 0, declined: 0, reversed: 0 };
    for (const e of l.entries) tally[e.status]++;
    return tally;
  });
  const terminalSide =
    terminal.unsettled.length === 0 && terminal.reversalsQueued > 0 ? "missing" : "complete";
  const issuerSide = ledgers.length > 0;
  const base = {
    issuerSide,
    terminalSide,
    issuers,
    unsettled: terminal.unsettled.length,
  } as const;
  if (!issuerSide || terminalSide === "missing") {
    return {
      ...base,
      reversedAtIssuer: 0,
      notApprovedAtIssuer: 0,
      oneSided: null,
      first: [],
      note: !issuerSide
        ? "no issuer ledgers in collected/ (no lab, or collection failed)"
        : `${terminal.reversalsQueued} reversal(s) queued but no pos_unsettled samples: the terminal model does not report which purchases it did not see approved`,
    };
  }
  // Ledger keys: TID + STAN + batch, as the switch reverses; a sample without batch matches any batch.
  const byKey = new Map<string, { issuer: string; entry: LedgerEntry }>();
  const byTidStan = new Map<string, { issuer: string; entry: LedgerEntry }[]>();
  for (const l of ledgers) {
    for (const entry of l.entries) {
      byKey.set(`${entry.tid}|${entry.stan}|${entry.batch}`, { issuer: l.issuer, entry });
      const k = `${entry.tid}|${entry.stan}`;
      const list = byTidStan.get(k);
      if (list) list.push({ issuer: l.issuer, entry });
      else byTidStan.set(k, [{ issuer: l.issuer, entry }]);
    }
  }
  const oneSided: OneSidedTransaction[] = [];
  let reversedAtIssuer = 0;
  let notApprovedAtIssuer = 0;
  const seen = new Set<string>();
  for (const u of terminal.unsettled) {
    const matches =
      u.batch !== undefined
        ? [byKey.get(`${u.tid}|${u.stan}|${u.batch}`)].filter((m) => m !== undefined)
        : (byTidStan.get(`${u.tid}|${u.stan}`) ?? []);
    if (matches.length === 0) {
      notApprovedAtIssuer++;
      continue;
    }
    for (const { issuer, entry } of matches) {
      const key = `${issuer}|${entry.tid}|${entry.stan}|${entry.batch}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (entry.status === "reversed") reversedAtIssuer++;
      else if (entry.status === "declined") notApprovedAtIssuer++;
      else {
        oneSided.push({
          issuer,
          tid: entry.tid,
          stan: entry.stan,
          batch: entry.batch,
          pan: maskedPan(entry.pan),
          amountMinor: Number(entry.amount),
          ...(entry.authCode !== undefined ? { authCode: entry.authCode } : {}),
          approvedAtS: Math.round(entry.repliedAt - loadStartMs) / 1000,
          replySent: entry.replySent,
          ...(u.reason !== undefined ? { terminalReason: u.reason } : {}),
        });
      }
    }
  }
  oneSided.sort((a, b) => a.approvedAtS - b.approvedAtS || a.tid.localeCompare(b.tid));
  return {
    ...base,
    reversedAtIssuer,
    notApprovedAtIssuer,
    oneSided: oneSided.length,
    first: oneSided.slice(0, limit),
  };
}

/** The ledgers in `<run dir>/collected/issuer-*.ledger.json`. */
export function readLedgers(runDir: string): LedgerFile[] {
  const dir = join(runDir, "collected");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^issuer-.+\.ledger\.json$/.test(f))
    .sort()
    .map((f) => {
      const json = JSON.parse(readFileSync(join(dir, f), "utf8")) as Partial<LedgerFile>;
      return {
        issuer: f.replace(/\.ledger\.json$/, ""),
        ...(json.issuerId !== undefined ? { issuerId: json.issuerId } : {}),
        entries: json.entries ?? [],
      };
    });
}
