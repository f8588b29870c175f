import { describe, expect, it } from "vitest";
import { seededRandom } from "../sim/issuer/model.ts";
import { addCounts, countOp, newCounts, outcomeCounts } from "./counts.ts";
import { classifySocketError, timeoutKind } from "./outcome.ts";
import { DEFAULT_TERMINAL, graceS, type RunPlan } from "./plan.ts";
import { type RunPlanInput, resolvePlan } from "./plan-check.ts";
import { drawAmount, pickCard, retryDelayMs, signInOffsetMs, thinkTimeMs, tidOf } from "./schedule.ts";

// The pure parts of the terminal model: socket failures, retry delays, the sign-in curve, TIDs, cards, the
// plan check and the run's outcome counts.

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};

describe("classifySocketError", () => {
  it.each([
    ["dial tcp 127.0.0.1:9: connect: connection refused", "connect", "refused"],
    ["dial tcp 10.0.0.1:80: connect: no route to host", "connect", "refused"],
    ["dial tcp 10.0.0.1:80: connect: network is unreachable", "connect", "refused"],
    ["dial tcp 10.255.255.1:80: i/o timeout", "connect", "timeout.connect"],
    ["dial tcp 10.255.255.1:80: context deadline exceeded", "connect", "timeout.connect"],
    ["socket destroyed before the connection was established", "connect", "closed"],
    ["read tcp 127.0.0.1:5000->127.0.0.1:6000: read: connection reset by peer", "read", "reset"],
    ["write tcp 127.0.0.1:5000->127.0.0.1:6000: write: broken pipe", "write", "reset"],
    ["write tcp 127.0.0.1:5000->127.0.0.1:6000: write: connection reset by peer", "write", "reset"],
    ["EOF", "read", "closed"],
    ["unexpected EOF", "read", "closed"],
    ["read tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection", "read", "closed"],
    ["write: socket is not connected (state: destroyed)", "write", "closed"],
    ["something new", "connect", "refused"],
    ["something new", "read", "closed"],
    ["read tcp: i/o timeout", "read", "closed"],
  ] as const)("%s (%s) → %s", (message, phase, outcome) => {
    expect(classifySocketError(message, phase)).toBe(outcome);
  });

  it("names the timeout kind of each timeout outcome only", () => {
    expect(timeoutKind("timeout.connect")).toBe("connect");
    expect(timeoutKind("timeout.response")).toBe("response");
    expect(timeoutKind("timeout.idle")).toBe("idle");
    expect(timeoutKind("reset")).toBeUndefined();
  });
});

describe("retryDelayMs", () => {
  const policy = { delayMs: 1000, maxDelayMs: 5000, maxAttempts: 6 };

  it("none never retries; maxAttempts counts the first attempt", () => {
    expect(retryDelayMs({ ...policy, policy: "none" }, 1)).toBeUndefined();
    expect(retryDelayMs({ ...policy, policy: "fixed", maxAttempts: 1 }, 1)).toBeUndefined();
    expect(retryDelayMs({ ...policy, policy: "fixed", maxAttempts: 3 }, 2)).toBe(1000);
    expect(retryDelayMs({ ...policy, policy: "fixed", maxAttempts: 3 }, 3)).toBeUndefined();
  });

  it("immediate retries at once (the retry storm)", () => {
    expect([1, 2, 5].map((n) => retryDelayMs({ ...policy, policy: "immediate" }, n))).toEqual([0, 0, 0]);
  });

  it("exponential doubles from delayMs, is capped at maxDelayMs, with equal jitter", () => {
    const exp = { ...policy, policy: "exponential" as const, maxAttempts: 100 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(exp, n, () => 0))).toEqual([500, 1000, 2000, 2500, 2500]);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(exp, n, () => 0.999999))).toEqual(
      [1000, 2000, 4000, 5000, 5000].map((x) => expect.closeTo(x, 1)),
    );
    expect(retryDelayMs(exp, 99, () => 0.5)).toBe(3750);
    const random = seededRandom(7);
    const draws = Array.from({ length: 2000 }, () => retryDelayMs(exp, 2, random)!);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(2000);
    expect(mean(draws)).toBeCloseTo(1500, -2);
  });
});

describe("sign-in curve and think time", () => {
  it("uniform spreads sign-ins over the window", () => {
    const random = seededRandom(1);
    const xs = Array.from({ length: 5000 }, () => signInOffsetMs({ curve: "uniform", windowS: 60 }, random));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThanOrEqual(60_000);
    expect(mean(xs)).toBeCloseTo(30_000, -3);
    expect(xs.filter((x) => x < 6000).length / xs.length).toBeCloseTo(0.1, 1);
  });

  it("normal peaks at peakAtS with sigmaS, truncated to the window", () => {
    const random = seededRandom(2);
    const curve = { curve: "normal", windowS: 600, peakAtS: 300, sigmaS: 30 } as const;
    const xs = Array.from({ length: 5000 }, () => signInOffsetMs(curve, random));
    expect(mean(xs)).toBeCloseTo(300_000, -4);
    expect(sd(xs)).toBeGreaterThan(27_000);
    expect(sd(xs)).toBeLessThan(33_000);
    const edge = Array.from({ length: 2000 }, () =>
      signInOffsetMs({ curve: "normal", windowS: 10, peakAtS: 0, sigmaS: 5 }, random),
    );
    expect(Math.min(...edge)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...edge)).toBeLessThanOrEqual(10_000);
    // Defaults: the middle of the window, sigma a sixth of it.
    const defaults = Array.from({ length: 5000 }, () =>
      signInOffsetMs({ curve: "normal", windowS: 60 }, random),
    );
    expect(mean(defaults)).toBeCloseTo(30_000, -3);
    expect(sd(defaults)).toBeGreaterThan(8_500);
    expect(sd(defaults)).toBeLessThan(10_500);
  });

  it("a zero window signs everyone in at once", () => {
    expect(signInOffsetMs({ curve: "uniform", windowS: 0 }, seededRandom(3))).toBe(0);
    expect(signInOffsetMs({ curve: "normal", windowS: 0 }, seededRandom(3))).toBe(0);
  });

  it("think time is mean ± jitter seconds, never negative", () => {
    expect(thinkTimeMs({ mean: 2, jitter: 1 }, () => 0)).toBe(1000);
    expect(thinkTimeMs({ mean: 2, jitter: 1 }, () => 0.5)).toBe(2000);
    expect(thinkTimeMs({ mean: 0.5, jitter: 2 }, () => 0)).toBe(0);
  });
});

describe("terminals, TIDs, cards, amounts", () => {
  it("TIDs fill 8 characters", () => {
    expect(tidOf("POS", 1)).toBe("POS00001");
    expect(tidOf("POS", 10000)).toBe("POS10000");
    expect(tidOf("T", 42)).toBe("T0000042");
    expect(() => tidOf("POS", 100000)).toThrow(/does not fit 8 characters/);
  });

  it("picks cards by weight and draws 12-digit amounts in range", () => {
    const cards = [
      { pan: "6222020000000001234", weight: 3 },
      { pan: "4111111111111111", weight: 1 },
      { pan: "6200000000000000", weight: 0 },
    ];
    const random = seededRandom(4);
    const picks = Array.from({ length: 4000 }, () => pickCard(cards, random));
    expect(picks.filter((p) => p.startsWith("62220")).length / 4000).toBeCloseTo(0.75, 1);
    expect(picks).not.toContain("6200000000000000");
    const amounts = Array.from({ length: 1000 }, () => drawAmount({ min: 100, max: 105 }, random));
    expect(new Set(amounts)).toEqual(
      new Set([
        "000000000100",
        "000000000101",
        "000000000102",
        "000000000103",
        "000000000104",
        "000000000105",
      ]),
    );
    expect(drawAmount({ min: 7, max: 7 }, () => 0.9999999)).toBe("000000000007");
  });
});

const basePlan: RunPlanInput = {
  version: 1,
  runId: "unit",
  target: { host: "127.0.0.1", port: 4000 },
  labKeyHex: "0123456789ABCDEFFEDCBA9876543210",
  fleet: {
    model: "population",
    terminals: 10,
    vus: 2,
    signIn: { curve: "uniform", windowS: 5 },
    purchases: { perTerminal: 1, thinkTimeS: { mean: 1, jitter: 0 } },
  },
  durationS: 10,
};

describe("resolvePlan", () => {
  it("fills terminal defaults, the retry policy field by field", () => {
    const plan = resolvePlan({
      ...basePlan,
      terminal: { responseTimeoutMs: 500, retry: { policy: "immediate" } },
    });
    expect(plan.terminal).toEqual({
      ...DEFAULT_TERMINAL,
      responseTimeoutMs: 500,
      retry: { ...DEFAULT_TERMINAL.retry, policy: "immediate" },
    });
    expect(DEFAULT_TERMINAL).toMatchObject({
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 60_000,
      echoIntervalMs: 60_000,
      reversalAttempts: 3,
      keyLayout: "003",
    });
  });

  it("lists every problem at once", () => {
    const bad = {
      ...basePlan,
      target: { host: "10.1.2.3", port: 0 },
      labKeyHex: "xyz",
      terminal: {
        merchantId: "short",
        retry: { maxAttempts: 0 },
        cards: [{ pan: "62220200000000012345678", weight: 1 }],
      },
      fleet: { ...basePlan.fleet, vus: 0 },
    } as RunPlanInput;
    let message = "";
    try {
      resolvePlan(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^run plan rejected:/);
    for (const path of [
      "plan.target.host",
      "plan.target.port",
      "plan.labKeyHex",
      "plan.terminal.merchantId",
      "plan.terminal.retry.maxAttempts",
      "plan.terminal.cards[0].pan",
      "plan.fleet.vus",
    ]) {
      expect(message).toContain(path);
    }
    expect(message).not.toContain("62220200000000012345678");
  });

  it("allows a remote target only when asked, and refuses long links in the open model", () => {
    expect(
      resolvePlan({ ...basePlan, target: { host: "10.1.2.3", port: 1, allowRemote: true } }).target.host,
    ).toBe("10.1.2.3");
    const open: RunPlanInput = {
      ...basePlan,
      terminal: { mode: "long" },
      fleet: {
        model: "open",
        operation: "purchase",
        stages: [{ durationS: 5, ratePerS: 10 }],
        preAllocatedVUs: 2,
        maxVUs: 4,
      },
    };
    expect(() => resolvePlan(open)).toThrow(/plan\.terminal\.mode.*population model/);
    expect(resolvePlan({ ...open, terminal: { mode: "short" } }).fleet.model).toBe("open");
  });

  it("grace covers one operation started just before the deadline", () => {
    const plan: RunPlan = resolvePlan(basePlan);
    expect(graceS(plan.terminal)).toBe(10 + 60 + 5);
    const t = { connectTimeoutMs: 1000, responseTimeoutMs: 500, idleTimeoutMs: 2000, reversalAttempts: 3 };
    expect(graceS(t)).toBe(8);
    expect(graceS(t, "open")).toBe(5 * 3 + 5);
  });
});

describe("outcomeCounts", () => {
  it("lists every op and outcome (0 when none), codes apart from failures without a reply", () => {
    const counts = newCounts();
    countOp(counts, "purchase", "approved", "00", 7);
    countOp(counts, "purchase", "timeout.response", "", 2);
    countOp(counts, "signin", "declined", "97", 1);
    const more = newCounts();
    more.retries.signin = 4;
    more.reversals.queued = 2;
    more.reversals.settled = 1;
    more.sessions["signed-in"] = 9;
    more.skipped.purchase = { "reversal-pending": 3 };
    more.dropped = 5;
    addCounts(counts, more);
    const out = outcomeCounts(counts);
    expect(out.byOutcome.purchase).toMatchObject({ approved: 7, "timeout.response": 2, declined: 0, mac: 0 });
    expect(out.total).toEqual({ signin: 1, purchase: 9, reversal: 0, echo: 0 });
    expect(out.byCode).toEqual({ signin: { "97": 1 }, purchase: { "00": 7 }, reversal: {}, echo: {} });
    expect(out.timeouts.purchase).toEqual({ connect: 0, response: 2, idle: 0 });
    expect(out.timeouts.echo).toEqual({ connect: 0, response: 0, idle: 0 });
    expect(out.retries.signin).toBe(4);
    expect(out.skipped.purchase).toEqual({ "reversal-pending": 3 });
    expect(out.reversals).toEqual({ queued: 2, settled: 1, abandoned: 0 });
    expect(out.sessions).toEqual({ signedIn: 9, signedOut: 0 });
    expect(out.dropped).toBe(5);
  });
});
