import { createReadStream, existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { maskPan } from "../protocol/index.ts";
import {
  COLLECTED_DIR,
  LEDGER_FILE_SUFFIX,
  ledgerFileOf,
  OLD_LEDGER_FILE_SUFFIX,
} from "../run-folder/index.ts";
import type { LedgerEntry } from "../sim/issuer/ledger.ts";
import { type RunSeries, sumOver, type UnsettledPurchase } from "./series.ts";

// Reconciliation after a run: the issuers' ledgers against what the terminals saw. A one-sided transaction is
// a purchase the issuer approved and never reversed while its terminal did not see the approval (it timed out,
// lost the connection or rejected the reply) and so owed a reversal that never arrived: the cardholder is
// charged for a sale the merchant thinks failed.
//
// The terminals' side is the fleet's `unsettled` samples {tid, stan, batch, reason}: one sample for each purchase
// that was sent and not approved at the terminal (the moment it queues a reversal). Low volume by design.
//
// The issuers' side is large (one entry per purchase an issuer saw: ~1 M, ~300 MB of JSON for 10 minutes at
// 2,000/s): the ledger files are read as a stream, and only the entries an unsettled sample names are kept.

export { LEDGER_FILE_SUFFIX, ledgerFileOf };

/** A ledger held in memory (tests, and the in-memory `reconcile`). */
export interface LedgerFile {
  /** The lab program, e.g. `issuer-a` (the file's name). */
  issuer: string;
  entries: readonly LedgerEntry[];
}

/** A ledger file of a run folder. */
export interface LedgerSource {
  issuer: string;
  file: string;
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
  /**
   * Purchases the terminals did not see approved, each counted once however many samples name it: every ledger
   * entry (issuer, TID, STAN, batch) an unsettled sample names (a sample without batch names each batch of its
   * TID + STAN), plus each distinct (TID, STAN, batch) no ledger entry matches. The three buckets below add up
   * to it when the issuer side is there; without it, the distinct (TID, STAN, batch) of the samples.
   */
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

/** The terminals' side of a run from its series. */
export function terminalSideOf(series: RunSeries): TerminalSide {
  return {
    unsettled: series.unsettled,
    reversalsQueued: sumOver(
      series.reversals.queued,
      Array.from({ length: series.slots }, (_, i) => i),
    ),
  };
}

const terminalSideStatus = (terminal: TerminalSide): Reconciliation["terminalSide"] =>
  terminal.unsettled.length === 0 && terminal.reversalsQueued > 0 ? "missing" : "complete";

interface Matched {
  issuer: string;
  entry: LedgerEntry;
}

/**
 * What reconciliation keeps of the ledgers, fed one entry at a time: each issuer's tally, and only the entries
 * an unsettled sample names (TID + STAN + batch, as the switch reverses; TID + STAN for a sample without batch).
 */
class LedgerScan {
  readonly issuers: IssuerTally[] = [];
  /** The last entry of each wanted key, as a map of every entry would hold. */
  readonly byKey = new Map<string, Matched>();
  /** Every entry of each wanted TID + STAN, in ledger order. */
  readonly byTidStan = new Map<string, Matched[]>();
  private readonly keys = new Set<string>();
  private readonly tidStans = new Set<string>();

  constructor(unsettled: readonly UnsettledPurchase[]) {
    for (const u of unsettled) {
      if (u.batch !== undefined) this.keys.add(`${u.tid}|${u.stan}|${u.batch}`);
      else this.tidStans.add(`${u.tid}|${u.stan}`);
    }
  }

  /** Starts the next issuer's ledger; returns what takes its entries. */
  issuer(issuer: string): (entry: LedgerEntry) => void {
    const tally: IssuerTally = { issuer, approved: 0, declined: 0, reversed: 0 };
    this.issuers.push(tally);
    const { keys, tidStans, byKey, byTidStan } = this;
    const wanted = keys.size > 0 || tidStans.size > 0;
    return (entry) => {
      tally[entry.status]++;
      if (!wanted) return;
      const tidStan = `${entry.tid}|${entry.stan}`;
      const key = `${tidStan}|${entry.batch}`;
      if (keys.has(key)) byKey.set(key, { issuer, entry });
      if (tidStans.has(tidStan)) {
        const list = byTidStan.get(tidStan);
        if (list) list.push({ issuer, entry });
        else byTidStan.set(tidStan, [{ issuer, entry }]);
      }
    };
  }
}

function settle(
  scan: LedgerScan,
  issuerSide: boolean,
  terminal: TerminalSide,
  loadStartMs: number,
  limit: number,
): Reconciliation {
  const terminalSide = terminalSideStatus(terminal);
  const sampleKey = (u: UnsettledPurchase) => `${u.tid}|${u.stan}|${u.batch ?? "?"}`;
  const base = { issuerSide, terminalSide, issuers: scan.issuers } as const;
  if (!issuerSide || terminalSide === "missing") {
    return {
      ...base,
      unsettled: new Set(terminal.unsettled.map(sampleKey)).size,
      reversedAtIssuer: 0,
      notApprovedAtIssuer: 0,
      oneSided: null,
      first: [],
      note: !issuerSide
        ? "no issuer ledgers in collected/ (no lab, or collection failed)"
        : `${terminal.reversalsQueued} reversal(s) queued but no pos_unsettled samples: the terminal model does not report which purchases it did not see approved`,
    };
  }
  const oneSided: OneSidedTransaction[] = [];
  let reversedAtIssuer = 0;
  let notApprovedAtIssuer = 0;
  const seen = new Set<string>();
  for (const u of terminal.unsettled) {
    const matches =
      u.batch !== undefined
        ? [scan.byKey.get(`${u.tid}|${u.stan}|${u.batch}`)].filter((m) => m !== undefined)
        : (scan.byTidStan.get(`${u.tid}|${u.stan}`) ?? []);
    if (matches.length === 0) {
      const key = `unmatched|${sampleKey(u)}`;
      if (!seen.has(key)) notApprovedAtIssuer++;
      seen.add(key);
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
    unsettled: reversedAtIssuer + notApprovedAtIssuer + oneSided.length,
    reversedAtIssuer,
    notApprovedAtIssuer,
    oneSided: oneSided.length,
    first: oneSided.slice(0, limit),
  };
}

/** Reconciliation of ledgers held in memory. */
export function reconcile(
  ledgers: readonly LedgerFile[],
  terminal: TerminalSide,
  loadStartMs: number,
  limit = 10,
): Reconciliation {
  const scan = new LedgerScan(terminalSideStatus(terminal) === "complete" ? terminal.unsettled : []);
  for (const l of ledgers) {
    const add = scan.issuer(l.issuer);
    for (const entry of l.entries) add(entry);
  }
  return settle(scan, ledgers.length > 0, terminal, loadStartMs, limit);
}

/**
 * Reconciliation of a run folder's ledgers, read as a stream: memory grows with the unsettled purchases, not
 * with the ledgers. Rejects with an Error naming the file when a ledger does not read (cut short, not JSON).
 */
export async function reconcileRun(
  runDir: string,
  terminal: TerminalSide,
  loadStartMs: number,
  limit = 10,
): Promise<Reconciliation> {
  const sources = ledgerFiles(runDir);
  const scan = new LedgerScan(terminalSideStatus(terminal) === "complete" ? terminal.unsettled : []);
  for (const { issuer, file } of sources) await readLedgerFile(file, scan.issuer(issuer));
  return settle(scan, sources.length > 0, terminal, loadStartMs, limit);
}

/**
 * The ledger files in `<run dir>/collected`, by issuer name: `issuer-*.ledger.ndjson.gz`, or for a run of an
 * older version `issuer-*.ledger.json` (the new file when a folder has both).
 */
export function ledgerFiles(runDir: string): LedgerSource[] {
  const dir = join(runDir, COLLECTED_DIR);
  if (!existsSync(dir)) return [];
  const byIssuer = new Map<string, string>();
  for (const f of readdirSync(dir)) {
    const suffix = [LEDGER_FILE_SUFFIX, OLD_LEDGER_FILE_SUFFIX].find((s) => f.endsWith(s));
    if (!suffix || !f.startsWith("issuer-") || f.length === "issuer-".length + suffix.length) continue;
    const issuer = f.slice(0, -suffix.length);
    if (suffix === LEDGER_FILE_SUFFIX || !byIssuer.has(issuer)) byIssuer.set(issuer, join(dir, f));
  }
  // in the order of the file names, as `issuer-a.ledger…` sorts
  const order = (issuer: string) => `${issuer}.ledger`;
  return [...byIssuer]
    .map(([issuer, file]) => ({ issuer, file }))
    .sort((a, b) => (order(a.issuer) < order(b.issuer) ? -1 : order(a.issuer) > order(b.issuer) ? 1 : 0));
}

/**
 * Hands each entry of a ledger file to `onEntry`, in file order; resolves with the number of entries. Rejects
 * with an Error that names the file: a gzip stream cut short, a line that is not JSON.
 */
export async function readLedgerFile(file: string, onEntry: (entry: LedgerEntry) => void): Promise<number> {
  if (file.endsWith(OLD_LEDGER_FILE_SUFFIX)) {
    let json: { entries?: LedgerEntry[] };
    try {
      json = JSON.parse(await readFile(file, "utf8")) as { entries?: LedgerEntry[] };
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`);
    }
    const entries = json.entries ?? [];
    for (const entry of entries) onEntry(entry);
    return entries.length;
  }
  let line = 0;
  let entries = 0;
  let notJson: Error | undefined;
  const take = (text: string) => {
    line++;
    if (text.trim() === "") return;
    let entry: LedgerEntry;
    try {
      entry = JSON.parse(text) as LedgerEntry;
    } catch (error) {
      notJson = new Error(`${file}: line ${line} is not JSON: ${(error as Error).message}`);
      throw notJson;
    }
    entries++;
    onEntry(entry);
  };
  const source = createReadStream(file);
  const text = source.pipe(createGunzip({ chunkSize: 1 << 16 })).setEncoding("utf8");
  source.once("error", (error) => text.destroy(error));
  let rest = "";
  try {
    for await (const chunk of text as AsyncIterable<string>) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const l of lines) take(l);
    }
  } catch (error) {
    if (error === notJson) throw error;
    const cut = (error as NodeJS.ErrnoException).code === "Z_BUF_ERROR";
    throw new Error(
      cut
        ? `${file}: cut short after line ${line} (the gzip stream ends early)`
        : `${file}: ${(error as Error).message}`,
    );
  } finally {
    source.destroy();
  }
  if (rest !== "") take(rest);
  return entries;
}
