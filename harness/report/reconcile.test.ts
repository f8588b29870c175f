import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLedgers, reconcile } from "./reconcile.ts";
import type { UnsettledPurchase } from "./series.ts";
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

describe("readLedgers", () => {
  it("reads collected/issuer-*.ledger.json, named after the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-ledgers-"));
    expect(readLedgers(dir)).toEqual([]);
    mkdirSync(join(dir, "collected"));
    writeFileSync(
      join(dir, "collected", "issuer-b.ledger.json"),
      JSON.stringify({ issuer: "B", issuerId: "9902", entries: [] }),
    );
    writeFileSync(
      join(dir, "collected", "issuer-a.ledger.json"),
      JSON.stringify({ issuer: "A", entries: [ledgerEntry({ tid: "T", stan: "1" })] }),
    );
    writeFileSync(join(dir, "collected", "switch.metrics.prom"), "x 1\n");
    expect(readLedgers(dir).map((l) => [l.issuer, l.entries.length])).toEqual([
      ["issuer-a", 1],
      ["issuer-b", 0],
    ]);
  });
});
