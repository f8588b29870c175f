import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { LedgerEntry } from "../sim/issuer/ledger.ts";
import { type LedgerFile, ledgerFiles, type Reconciliation, reconcile, reconcileRun } from "./reconcile.ts";
import type { UnsettledPurchase } from "./series.ts";
import { type LedgerFormat, readLedgers, writeLedger } from "./testing/ledgers.ts";
import { ledgerEntry } from "./testing/run-folder.ts";
import { LOAD_START_MS } from "./testing/series.ts";

const unsettled = (tid: string, stan: string, extra: Partial<UnsettledPurchase> = {}): UnsettledPurchase => ({
  tid,
  stan,
  batch: "000001",
  reason: "98",
  timeMs: LOAD_START_MS + 6000,
  ...extra,
});

describe("reconcile", () => {
  const ledgers = [
    {
      issuer: "issuer-a",
      entries: [
        ledgerEntry({ tid: "POS00001", stan: "000001" }), // approved, terminal saw it: fine
        ledgerEntry({ tid: "POS00002", stan: "000007", repliedAt: LOAD_START_MS + 9000 }), // one-sided
        ledgerEntry({ tid: "POS00003", stan: "000003", status: "reversed" }), // reversal arrived
        ledgerEntry({ tid: "POS00004", stan: "000004", status: "declined", responseCode: "51" }),
        ledgerEntry({
          tid: "POS00005",
          stan: "000005",
          pan: "6222021234567890123",
          repliedAt: LOAD_START_MS + 7000,
        }), // one-sided, PAN unmasked in the ledger
      ],
    },
    { issuer: "issuer-b", entries: [ledgerEntry({ tid: "POS00006", stan: "000006", replySent: false })] },
  ];

  it("counts approved, never reversed purchases the terminal did not see approved, first ones listed masked", () => {
    const r = reconcile(
      ledgers,
      {
        unsettled: [
          unsettled("POS00002", "000007"),
          unsettled("POS00003", "000003"),
          unsettled("POS00004", "000004"),
          unsettled("POS00005", "000005", { reason: "06" }),
          unsettled("POS00006", "000006", { batch: undefined }), // no batch tag: matches any batch
          unsettled("POS00009", "000009"), // never reached an issuer
        ],
        reversalsQueued: 6,
      },
      LOAD_START_MS,
    );
    expect(r).toMatchObject({
      issuerSide: true,
      terminalSide: "complete",
      unsettled: 6,
      oneSided: 3,
      reversedAtIssuer: 1,
      notApprovedAtIssuer: 2,
    });
    // Each sample here names exactly one purchase (no repeat, the batch-less one matches one entry): every
    // unsettled purchase is in exactly one bucket, as reconcile.ts documents ("…of which").
    expect(r.reversedAtIssuer + r.notApprovedAtIssuer + (r.oneSided ?? 0)).toBe(r.unsettled);
    expect(r.first.map((t) => [t.tid, t.approvedAtS, t.pan, t.terminalReason, t.replySent])).toEqual([
      ["POS00006", 5.02, "6222 02** **** ***1 234", "98", false],
      ["POS00005", 7, "6222 02** **** ***0 123", "06", true],
      ["POS00002", 9, "6222 02** **** ***1 234", "98", true],
    ]);
    expect(JSON.stringify(r)).not.toMatch(/\d{13,}/);
    expect(r.issuers).toEqual([
      { issuer: "issuer-a", approved: 3, declined: 1, reversed: 1 },
      { issuer: "issuer-b", approved: 1, declined: 0, reversed: 0 },
    ]);
  });

  it("masks a whole PAN in the ledger also when it is grouped by spaces or hyphens", () => {
    const grouped = ["6222 0212 3456 7890 123", "6222-0212-3456-7890-123", "4761 7390 0101 0010"];
    const r = reconcile(
      [
        {
          issuer: "issuer-a",
          entries: grouped.map((pan, i) => ledgerEntry({ tid: "POS00001", stan: `00000${i}`, pan })),
        },
      ],
      { unsettled: grouped.map((_, i) => unsettled("POS00001", `00000${i}`)), reversalsQueued: 3 },
      LOAD_START_MS,
    );
    expect(r.first.map((t) => t.pan)).toEqual([
      "6222 02** **** ***0 123",
      "6222 02** **** ***0 123",
      "4761 73** **** 0010",
    ]);
  });

  it("lists at most `limit`", () => {
    const many = Array.from({ length: 15 }, (_, i) =>
      ledgerEntry({ tid: "POS00001", stan: String(i).padStart(6, "0") }),
    );
    const r = reconcile(
      [{ issuer: "issuer-a", entries: many }],
      { unsettled: many.map((e) => unsettled(e.tid, e.stan)), reversalsQueued: 15 },
      LOAD_START_MS,
    );
    expect(r.oneSided).toBe(15);
    expect(r.first).toHaveLength(10);
  });

  it("is zero when no reversal was ever owed, and unknown when owed reversals left no pos_unsettled sample", () => {
    expect(reconcile(ledgers, { unsettled: [], reversalsQueued: 0 }, LOAD_START_MS)).toMatchObject({
      terminalSide: "complete",
      oneSided: 0,
    });
    const missing = reconcile(ledgers, { unsettled: [], reversalsQueued: 4 }, LOAD_START_MS);
    expect(missing).toMatchObject({ terminalSide: "missing", oneSided: null, first: [] });
    expect(missing.note).toMatch(/4 reversal\(s\) queued but no pos_unsettled samples/);
    expect(reconcile([], { unsettled: [], reversalsQueued: 0 }, LOAD_START_MS)).toMatchObject({
      issuerSide: false,
      oneSided: null,
    });
  });
});

// Ledgers of every kind reconciliation meets, and the terminals' samples against them.
const fixture: { ledgers: LedgerFile[]; unsettled: UnsettledPurchase[]; reversalsQueued: number } = {
  ledgers: [
    {
      issuer: "issuer-a",
      entries: [
        ledgerEntry({ tid: "POS00001", stan: "000001" }), // approved, terminal saw it: fine
        ledgerEntry({ tid: "POS00002", stan: "000002", repliedAt: LOAD_START_MS + 9000 }), // one-sided
        ledgerEntry({
          tid: "POS00003",
          stan: "000003",
          status: "reversed",
          reversedAt: LOAD_START_MS + 8000,
        }),
        ledgerEntry({ tid: "POS00004", stan: "000004", status: "declined", responseCode: "51" }),
        // one-sided, PAN whole in the ledger, no auth code
        ledgerEntry({ tid: "POS00005", stan: "000005", pan: "6222021234567890123", authCode: undefined }),
        // a batch-less sample matches both batches
        ledgerEntry({ tid: "POS00007", stan: "000007", batch: "000001", status: "reversed" }),
        ledgerEntry({ tid: "POS00007", stan: "000007", batch: "000002", repliedAt: LOAD_START_MS + 3000 }),
        ledgerEntry({ tid: "POS00008", stan: "000008", batch: "000002" }), // sample says batch 000001
      ],
    },
    {
      issuer: "issuer-b",
      entries: [
        ledgerEntry({ tid: "POS00006", stan: "000006", replySent: false, pan: "4111-1111-1111-1111" }),
        ledgerEntry({ tid: "POS00007", stan: "000007", batch: "000003", status: "declined" }),
        ledgerEntry({ tid: "POS00010", stan: "000010", status: "reversed" }),
      ],
    },
  ],
  unsettled: [
    unsettled("POS00002", "000002"),
    unsettled("POS00002", "000002", { reason: "06" }), // the same purchase twice (see `expected` for how it counts)
    unsettled("POS00003", "000003"),
    unsettled("POS00004", "000004", { reason: "declined:51" }),
    unsettled("POS00005", "000005", { reason: undefined }),
    unsettled("POS00006", "000006", { batch: undefined }),
    unsettled("POS00007", "000007", { batch: undefined }),
    unsettled("POS00008", "000008"),
    unsettled("POS00009", "000009"), // never reached an issuer
  ],
  reversalsQueued: 8,
};

/*
 * What reconcile() gives for `fixture`, worked out by hand from the entries and samples above (a = issuer-a,
 * b = issuer-b, b1 = batch 000001; ledgerEntry's defaults: batch 000001, approved, replied 5.02 s after load
 * start, amount 12345, auth code 123456, PAN "6222 02** **** ***1 234"):
 *
 *   sample (TID/STAN, batch)    ledger entries it names (key TID+STAN+batch, TID+STAN without batch)  bucket
 *   POS00002 b1                 a POS00002 b1 approved                          one-sided (9 s, reason 98)
 *   POS00002 b1 again           the same entry, already classified              nothing more
 *   POS00003 b1                 a POS00003 b1 reversed                          reversedAtIssuer
 *   POS00004 b1                 a POS00004 b1 declined                          notApprovedAtIssuer
 *   POS00005 b1                 a POS00005 b1 approved                          one-sided (5.02 s, no reason)
 *   POS00006 (no batch)         b POS00006 b1 approved, reply not sent          one-sided (5.02 s)
 *   POS00007 (no batch)         a POS00007 b1 reversed                          reversedAtIssuer
 *                               a POS00007 b2 approved                          one-sided (3 s)
 *                               b POS00007 b3 declined                          notApprovedAtIssuer
 *   POS00008 b1                 none (the ledger has it in batch 000002 only)   notApprovedAtIssuer
 *   POS00009 b1                 none                                            notApprovedAtIssuer
 *   (no sample)                 b POS00010 reversed                             tallied only
 *
 * The semantics reconcile.ts implements:
 * - `unsettled` counts purchases, not samples (9 samples here): the buckets below, which add up to it: 10.
 * - The buckets count purchases: each (issuer, TID, STAN, batch) ledger entry a sample names is
 *   classified once, however many samples name it (the repeated POS00002 sample adds nothing); a sample
 *   without batch counts every batch of its TID + STAN (POS00007: 3 purchases in 3 buckets); each distinct
 *   (TID, STAN, batch) no entry matches counts once in notApprovedAtIssuer.
 *   - reversedAtIssuer: named entries the issuer reversed: POS00003, POS00007 b1 = 2.
 *   - notApprovedAtIssuer: named entries the issuer declined, and samples no ledger entry matches:
 *     POS00004, POS00007 b3, POS00008, POS00009 = 4.
 *   - oneSided: named entries still approved (approved, never reversed, terminal did not see the approval):
 *     POS00002, POS00005, POS00006, POS00007 b2 = 4; `first` lists them by approval time, then TID.
 *   So the buckets add up to the 10 purchases classified (8 named entries + 2 samples without one): `unsettled`.
 * - issuers: every entry of every ledger tallied by status, whether a sample names it or not.
 */
const CLASSIFIED_PURCHASES = 10;
const expected: Reconciliation = {
  issuerSide: true,
  terminalSide: "complete",
  issuers: [
    {
      issuer: "issuer-a",
      approved: 5,
      declined: 1,
      reversed: 2,
    },
    {
      issuer: "issuer-b",
      approved: 1,
      declined: 1,
      reversed: 1,
    },
  ],
  unsettled: 10,
  reversedAtIssuer: 2,
  notApprovedAtIssuer: 4,
  oneSided: 4,
  first: [
    {
      issuer: "issuer-a",
      tid: "POS00007",
      stan: "000007",
      batch: "000002",
      pan: "6222 02** **** ***1 234",
      amountMinor: 12345,
      authCode: "123456",
      approvedAtS: 3,
      replySent: true,
      terminalReason: "98",
    },
    {
      issuer: "issuer-a",
      tid: "POS00005",
      stan: "000005",
      batch: "000001",
      pan: "6222 02** **** ***0 123",
      amountMinor: 12345,
      approvedAtS: 5.02,
      replySent: true,
    },
    {
      issuer: "issuer-b",
      tid: "POS00006",
      stan: "000006",
      batch: "000001",
      pan: "4111 11** **** 1111",
      amountMinor: 12345,
      authCode: "123456",
      approvedAtS: 5.02,
      replySent: false,
      terminalReason: "98",
    },
    {
      issuer: "issuer-a",
      tid: "POS00002",
      stan: "000002",
      batch: "000001",
      pan: "6222 02** **** ***1 234",
      amountMinor: 12345,
      authCode: "123456",
      approvedAtS: 9,
      replySent: true,
      terminalReason: "98",
    },
  ],
};

function runFolder(ledgers: readonly LedgerFile[], formats: LedgerFormat[] = ["ndjson.gz"]): string {
  const dir = mkdtempSync(join(tmpdir(), "posstorm-ledgers-"));
  for (const [i, l] of ledgers.entries()) writeLedger(dir, l.issuer, l.entries, formats[i % formats.length]);
  return dir;
}

const terminal = { unsettled: fixture.unsettled, reversalsQueued: fixture.reversalsQueued };

describe("reconcile: every kind of ledger entry and sample", () => {
  it("classifies each purchase a sample names once, as worked out by hand", () => {
    const r = reconcile(fixture.ledgers, terminal, LOAD_START_MS);
    // The buckets partition the purchases the samples name, and `unsettled` is their number (see `expected`).
    expect(r.unsettled).toBe(CLASSIFIED_PURCHASES);
    expect(r.reversedAtIssuer + r.notApprovedAtIssuer + (r.oneSided ?? 0)).toBe(r.unsettled);
    // The tallies are every ledger entry, each counted once.
    const tallied = r.issuers.reduce((n, t) => n + t.approved + t.declined + t.reversed, 0);
    expect(tallied).toBe(fixture.ledgers.reduce((n, l) => n + l.entries.length, 0));
    expect(r).toEqual(expected);
  });
});

describe("reconcile: a purchase named twice counts once", () => {
  it("repeated samples of an approved purchase and of one no issuer saw: one purchase each", () => {
    const sample = (stan: string): UnsettledPurchase => ({
      tid: "POS00001",
      stan,
      batch: "000001",
      reason: "98",
      timeMs: LOAD_START_MS,
    });
    const ledgers: LedgerFile[] = [
      { issuer: "issuer-a", entries: [ledgerEntry({ tid: "POS00001", stan: "000001", batch: "000001" })] },
    ];
    const r = reconcile(
      ledgers,
      {
        unsettled: [sample("000001"), sample("000001"), sample("000002"), sample("000002")],
        reversalsQueued: 4,
      },
      LOAD_START_MS,
    );
    expect(r).toMatchObject({ unsettled: 2, oneSided: 1, notApprovedAtIssuer: 1, reversedAtIssuer: 0 });
    const noIssuers = reconcile(
      [],
      { unsettled: [sample("000002"), sample("000002")], reversalsQueued: 2 },
      0,
    );
    expect(noIssuers.unsettled).toBe(1);
  });
});

describe("reconcileRun: the ledgers of a run folder, streamed", () => {
  it("gives what the in-memory reconciliation gives, from gzipped NDJSON, from older ledger.json, or both", async () => {
    expect(reconcile(fixture.ledgers, terminal, LOAD_START_MS)).toEqual(expected);
    for (const formats of [["ndjson.gz"], ["json"], ["json", "ndjson.gz"]] as LedgerFormat[][]) {
      const dir = runFolder(fixture.ledgers, formats);
      expect(await reconcileRun(dir, terminal, LOAD_START_MS), formats.join()).toEqual(expected);
      expect(await readLedgers(dir)).toEqual(JSON.parse(JSON.stringify(fixture.ledgers)));
    }
    const stored = readFileSync(join(runFolder(fixture.ledgers), "collected", "issuer-a.ledger.ndjson.gz"));
    expect(stored.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it("tallies every issuer also when no sample is owed, or the terminal side is missing", async () => {
    const dir = runFolder(fixture.ledgers);
    for (const side of [
      { unsettled: [], reversalsQueued: 0 },
      { unsettled: [], reversalsQueued: 4 },
      { unsettled: fixture.unsettled.slice(0, 1), reversalsQueued: 1 },
    ]) {
      expect(await reconcileRun(dir, side, LOAD_START_MS)).toEqual(
        reconcile(fixture.ledgers, side, LOAD_START_MS),
      );
    }
    const empty = mkdtempSync(join(tmpdir(), "posstorm-ledgers-"));
    expect(await reconcileRun(empty, terminal, LOAD_START_MS)).toEqual(
      reconcile([], terminal, LOAD_START_MS),
    );
    mkdirSync(join(empty, "collected"));
    expect(await reconcileRun(empty, terminal, LOAD_START_MS)).toMatchObject({
      issuerSide: false,
      oneSided: null,
    });
  });

  it("reads an NDJSON ledger whose last line has no newline, and skips blank lines", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-ledgers-"));
    mkdirSync(join(dir, "collected"));
    const lines = fixture.ledgers[0]!.entries.map((e) => JSON.stringify(e));
    writeFileSync(join(dir, "collected", "issuer-a.ledger.ndjson.gz"), gzipSync(`\n${lines.join("\n\n")}`));
    expect(await readLedgers(dir)).toEqual([JSON.parse(JSON.stringify(fixture.ledgers[0]))]);
  });

  it("names the file of a ledger cut short or not JSON, and does not crash", async () => {
    const many = Array.from({ length: 5_000 }, (_, i) =>
      ledgerEntry({ tid: "POS00001", stan: String(i).padStart(6, "0") }),
    );
    const dir = runFolder([{ issuer: "issuer-a", entries: many }]);
    const file = join(dir, "collected", "issuer-a.ledger.ndjson.gz");
    const whole = readFileSync(file);
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(reconcileRun(dir, terminal, LOAD_START_MS)).rejects.toThrow(
      new RegExp(`^${file.replaceAll(".", "\\.")}: cut short after line \\d+ \\(the gzip stream ends early`),
    );
    writeFileSync(file, gzipSync(`${JSON.stringify(many[0])}\n{"tid":"POS0\n`));
    await expect(reconcileRun(dir, terminal, LOAD_START_MS)).rejects.toThrow(`${file}: line 2 is not JSON`);
    writeFileSync(file, gzipSync(`${JSON.stringify(many[0])}\n\n{"tid":"POS0`));
    await expect(reconcileRun(dir, terminal, LOAD_START_MS)).rejects.toThrow(`${file}: line 3 is not JSON`);
    writeFileSync(file, "not gzip at all");
    await expect(reconcileRun(dir, terminal, LOAD_START_MS)).rejects.toThrow(
      `${file}: incorrect header check`,
    );
    writeFileSync(file, whole);
    writeFileSync(join(dir, "collected", "issuer-b.ledger.json"), '{"entries": [');
    await expect(reconcileRun(dir, terminal, LOAD_START_MS)).rejects.toThrow(
      `${join(dir, "collected", "issuer-b.ledger.json")}: `,
    );
  });
});

describe("ledgerFiles", () => {
  it("finds collected/issuer-*.ledger.ndjson.gz and older ledger.json, named after the file, the new one first", () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-ledgers-"));
    expect(ledgerFiles(dir)).toEqual([]);
    const entries: LedgerEntry[] = [ledgerEntry({ tid: "T", stan: "1" })];
    writeLedger(dir, "issuer-b", entries, "json");
    writeLedger(dir, "issuer-a", entries, "json");
    writeLedger(dir, "issuer-a", entries);
    writeLedger(dir, "issuer-c", entries);
    writeFileSync(join(dir, "collected", "switch.metrics.prom"), "x 1\n");
    writeFileSync(join(dir, "collected", "issuer-d.ledger.ndjson.gz.partial"), "");
    expect(ledgerFiles(dir)).toEqual([
      { issuer: "issuer-a", file: join(dir, "collected", "issuer-a.ledger.ndjson.gz") },
      { issuer: "issuer-b", file: join(dir, "collected", "issuer-b.ledger.json") },
      { issuer: "issuer-c", file: join(dir, "collected", "issuer-c.ledger.ndjson.gz") },
    ]);
  });
});
