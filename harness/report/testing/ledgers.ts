import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { type LedgerEntry, ledgerNdjson } from "../../sim/issuer/ledger.ts";
import { type LedgerFile, ledgerFileOf, ledgerFiles, readLedgerFile } from "../reconcile.ts";

// The issuers' ledgers of a run folder for tests: written as `posstorm run` collects them (or as older versions
// did), and read back whole.

/** `collected/issuer-<name>.ledger.ndjson.gz` as collect() stores it, or `json`: an older run's ledger.json. */
export type LedgerFormat = "ndjson.gz" | "json";

/** Writes the ledger of `issuer` (`issuer-a`) into `runDir`; returns the file. */
export function writeLedger(
  runDir: string,
  issuer: string,
  entries: readonly LedgerEntry[],
  format: LedgerFormat = "ndjson.gz",
): string {
  const file =
    format === "json"
      ? join(runDir, "collected", `${issuer}.ledger.json`)
      : join(runDir, ledgerFileOf(issuer));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    format === "json"
      ? JSON.stringify({
          issuer: issuer.replace(/^issuer-/, "").toUpperCase(),
          entries,
          reversalsNotFound: [],
        })
      : gzipSync([...ledgerNdjson(entries)].join("")),
  );
  return file;
}

/** Every ledger of a run folder, every entry in memory (small runs only), by issuer in file-name order. */
export async function readLedgers(runDir: string): Promise<LedgerFile[]> {
  const ledgers: LedgerFile[] = [];
  for (const { issuer, file } of ledgerFiles(runDir)) {
    const entries: LedgerEntry[] = [];
    await readLedgerFile(file, (entry) => entries.push(entry));
    ledgers.push({ issuer, entries });
  }
  return ledgers;
}
