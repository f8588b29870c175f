import { describe, expect, it } from "vitest";
import { ConfigError } from "../common/config.ts";
import { Ledger } from "./ledger.ts";
import {
  formatResponseMix,
  parseResponseMix,
  pickResponseCode,
  sampleServiceTimeMs,
  seededRandom,
} from "./model.ts";
import { issuerIdFor, resolveIssuerConfig } from "./settings.ts";

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

describe("service time", () => {
  it("is log-normal with the configured median and p99 (2,000 samples)", () => {
    const random = seededRandom(42);
    const samples = Array.from({ length: 2000 }, () => sampleServiceTimeMs(random, 100, 500)).sort(
      (a, b) => a - b,
    );
    expect(percentile(samples, 0.5)).toBeGreaterThan(90);
    expect(percentile(samples, 0.5)).toBeLessThan(110);
    expect(percentile(samples, 0.99)).toBeGreaterThan(375);
    expect(percentile(samples, 0.99)).toBeLessThan(650);
    expect(samples[0]).toBeGreaterThan(0);
  });

  it("is the median every time when p99 is not above it, and 0 for a zero median", () => {
    const random = seededRandom(1);
    expect(sampleServiceTimeMs(random, 200, 200)).toBe(200);
    expect(sampleServiceTimeMs(random, 200, 100)).toBe(200);
    expect(sampleServiceTimeMs(random, 0, 100)).toBe(0);
  });

  it("repeats with the same seed, and differs with another", () => {
    const draws = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 5 }, () => random());
    };
    expect(draws(9)).toEqual(draws(9));
    for (const other of [8, 10, 42]) {
      const differ = draws(other).map((x, i) => x !== draws(9)[i]);
      expect(differ, `seed ${other} against seed 9`).toEqual([true, true, true, true, true]);
    }
  });
});

describe("response mix", () => {
  it("draws codes by weight", () => {
    const random = seededRandom(3);
    const mix = { "00": 90, "51": 10 };
    let declines = 0;
    for (let i = 0; i < 10_000; i++) if (pickResponseCode(random, mix) === "51") declines++;
    expect(declines / 10_000).toBeGreaterThan(0.08);
    expect(declines / 10_000).toBeLessThan(0.12);
    expect(pickResponseCode(random, { "00": 0, "91": 1 })).toBe("91");
  });

  it("reads an object, its JSON text and the compact form, and says what is wrong", () => {
    expect(parseResponseMix({ "00": 95, "51": 5 })).toEqual({ "00": 95, "51": 5 });
    expect(parseResponseMix('{"00": 1}')).toEqual({ "00": 1 });
    expect(parseResponseMix(" 00:95, 51:5 ")).toEqual({ "00": 95, "51": 5 });
    expect(formatResponseMix({ "00": 95, A0: 5 })).toBe("00:95,A0:5");
    expect(parseResponseMix("00")).toMatch(/code:weight/);
    expect(parseResponseMix("00:x")).toMatch(/weight "x" for 00/);
    expect(parseResponseMix({ "000": 1 })).toMatch(/code "000"/);
    expect(parseResponseMix({ "00": 0 })).toBe("has no positive weight");
    expect(parseResponseMix([1])).toMatch(/must be an object/);
  });
});

describe("ledger", () => {
  const entry = (stan: string, status: "approved" | "declined") => ({
    tid: "TERM0001",
    stan,
    batch: "000001",
    pan: "6222 02** **** 0123",
    amount: "000000000100",
    responseCode: status === "approved" ? "00" : "51",
    status,
    receivedAt: 1,
    repliedAt: 2,
    replySent: true,
    reversalAttempts: 0,
  });
  const original = (stan: string) => ({ tid: "TERM0001", stan, batch: "000001", amount: "000000000100" });

  it("reverses approvals (idempotently), refuses declined originals with 12 and unknown ones with 25", () => {
    const ledger = new Ledger();
    ledger.record(entry("000001", "approved"));
    ledger.record(entry("000002", "declined"));
    expect(ledger.reverse(original("000001"), 10)).toBe("00");
    expect(ledger.reverse(original("000001"), 20)).toBe("00");
    expect(ledger.reverse(original("000002"), 30)).toBe("12");
    expect(ledger.reverse(original("000003"), 40)).toBe("25");
    expect(ledger.reverse(original("000003"), 50)).toBe("25");
    expect(ledger.entries({ status: "reversed" })).toMatchObject([
      { stan: "000001", reversedAt: 10, reversalAttempts: 2 },
    ]);
    expect(ledger.reversalsNotFound()).toEqual([{ ...original("000003"), receivedAt: 40, attempts: 2 }]);
    expect(ledger.summary()).toEqual({ approved: 0, declined: 1, reversed: 1, reversalsNotFound: 1 });
  });
});

describe("issuer settings", () => {
  it("derives issuerId from the name and checks a given one", () => {
    expect(issuerIdFor("A")).toBe("99010000");
    expect(issuerIdFor("b")).toBe("99020000");
    expect(issuerIdFor("48020000")).toBe("48020000");
    expect(resolveIssuerConfig({ overrides: { name: "B" } }).issuerId).toBe("99020000");
    expect(() => resolveIssuerConfig({ env: { POSSTORM_ISSUER_ISSUER_ID: "12AB" } })).toThrow(
      /issuerId = "12AB" \(from env POSSTORM_ISSUER_ISSUER_ID\) must be 1-11 digits/,
    );
  });

  it("stores a response mix object in its compact form and names a bad one's source", () => {
    expect(
      resolveIssuerConfig({ file: { path: "a.json", values: { responseMix: { "00": 9, "05": 1 } } } })
        .responseMix,
    ).toBe("00:9,05:1");
    let error: unknown;
    try {
      resolveIssuerConfig({ file: { path: "a.json", values: { responseMix: { "00": "x" } } } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/responseMix .* \(from a\.json\)/);
  });
});
