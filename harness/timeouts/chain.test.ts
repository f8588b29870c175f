import { describe, expect, it } from "vitest";
import { DEFAULT_TERMINAL, type TerminalSettings } from "../fleet/plan.ts";
import { issuerSettings } from "../sim/issuer/settings.ts";
import { switchSpec } from "../sim/switch/config.ts";
import {
  CHAIN_RULES,
  type ChainFinding,
  type ChainInput,
  type ChainRule,
  chainInputOf,
  checkTimeoutChain,
  renderChainMarkdown,
  SWITCH_MARGIN_MS,
  SYN_RETRANSMISSIONS_MS,
} from "./chain.ts";

const terminalWith = (overrides: Partial<TerminalSettings>): TerminalSettings => ({
  ...DEFAULT_TERMINAL,
  ...overrides,
});

const check = (
  terminal: Partial<TerminalSettings> = {},
  lab: Parameters<typeof chainInputOf>[1] = {},
  options: Parameters<typeof chainInputOf>[2] = {},
) => checkTimeoutChain(chainInputOf(terminalWith(terminal), lab, options));

const finding = (findings: ChainFinding[], rule: ChainRule): ChainFinding => {
  const found = findings.find((f) => f.rule === rule);
  if (!found) throw new Error(`no finding for ${rule}`);
  return found;
};

describe("chainInputOf", () => {
  it("merges the simulators' defaults and starts the lab's issuers a and b", () => {
    const input = chainInputOf(DEFAULT_TERMINAL);
    expect(input.switch.issuerTimeoutMs).toBe(switchSpec.issuerTimeoutMs.default);
    expect(input.switch.idleTimeoutMs).toBe(switchSpec.idleTimeoutMs.default);
    expect(Object.keys(input.issuers)).toEqual(["a", "b"]);
    expect(input.issuers.a!.p99Ms).toBe(issuerSettings.p99Ms.default);
  });

  it("applies the lab's overrides, strings as the environment carries them included", () => {
    const input = chainInputOf(DEFAULT_TERMINAL, {
      switch: { issuerTimeoutMs: "5000" },
      issuers: { a: { p99Ms: 3000 } },
      hsm: { serviceTimeMs: 7 },
    });
    expect(input.switch.issuerTimeoutMs).toBe(5000);
    expect(Object.keys(input.issuers)).toEqual(["a"]);
    expect(input.issuers.a!.p99Ms).toBe(3000);
    expect(input.hsm.serviceTimeMs).toBe(7);
  });
});

describe("checkTimeoutChain", () => {
  it("reports every rule once, in CHAIN_RULES order", () => {
    expect(check().map((f) => f.rule)).toEqual([...CHAIN_RULES]);
  });

  it("passes the defaults on every rule", () => {
    const notOk = check().filter((f) => f.status !== "ok");
    expect(notOk).toEqual([]);
  });

  describe("terminal-exceeds-switch-budget", () => {
    const inverted = { switch: { issuerTimeoutMs: 5000 }, issuers: { a: { medianMs: 80, p99Ms: 3000 } } };

    it("fails the inverted chain and names both timeouts", () => {
      const f = finding(check({ responseTimeoutMs: 2000 }, inverted), "terminal-exceeds-switch-budget");
      expect(f.status).toBe("fail");
      expect(f.values.terminalResponseTimeoutMs).toBe(2000);
      expect(f.values.switchIssuerTimeoutMs).toBe(5000);
      expect(f.values.purchaseBudgetMs).toBe(5000 + SWITCH_MARGIN_MS);
      expect(f.consequence).toMatch(/approvals the terminal never sees/);
      expect(f.fix).toMatch(/5,600 ms/);
    });

    it("passes the correct chain", () => {
      const f = finding(check({ responseTimeoutMs: 8000 }, inverted), "terminal-exceeds-switch-budget");
      expect(f.status).toBe("ok");
    });

    it("fails a terminal timeout equal to the budget", () => {
      const f = finding(
        check({ responseTimeoutMs: 5000 + SWITCH_MARGIN_MS }, inverted),
        "terminal-exceeds-switch-budget",
      );
      expect(f.status).toBe("fail");
    });

    it("fails a terminal timeout under the sign-in budget", () => {
      const f = finding(
        check({ responseTimeoutMs: 3000 }, { switch: { issuerTimeoutMs: 1000, hsmTimeoutMs: 4000 } }),
        "terminal-exceeds-switch-budget",
      );
      expect(f.status).toBe("fail");
      expect(f.consequence).toMatch(/sign-in/);
    });
  });

  describe("switch-timeout-above-backend-tail", () => {
    it("warns when an issuer's p99 reaches the switch's issuer timeout", () => {
      const f = finding(
        check({}, { switch: { issuerTimeoutMs: 5000 }, issuers: { a: {}, b: { p99Ms: 5000 } } }),
        "switch-timeout-above-backend-tail",
      );
      expect(f.status).toBe("warn");
      expect(f.values.slowestIssuer).toBe("b");
      expect(f.consequence).toMatch(/98/);
    });

    it("passes an issuer p99 below the switch's issuer timeout", () => {
      const f = finding(
        check({}, { switch: { issuerTimeoutMs: 5000 }, issuers: { a: { p99Ms: 3000 } } }),
        "switch-timeout-above-backend-tail",
      );
      expect(f.status).toBe("ok");
    });
  });

  describe("connect-timeout-vs-syn-retransmission", () => {
    const syn = (connectTimeoutMs: number) =>
      finding(check({ connectTimeoutMs }), "connect-timeout-vs-syn-retransmission");

    it("fits exactly one retransmission into 2 s", () => {
      const f = syn(2000);
      expect(f.values.synRetransmissionsThatFit).toBe(1);
      expect(f.values.nextSynAtMs).toBe(SYN_RETRANSMISSIONS_MS[1]);
      expect(f.status).toBe("ok");
    });

    it("warns below 1 s: one lost SYN is a connect timeout", () => {
      const f = syn(500);
      expect(f.status).toBe("warn");
      expect(f.values.synRetransmissionsThatFit).toBe(0);
      expect(f.fix).toMatch(/1,500 ms/);
    });

    it("warns just below a retransmission and suggests the value past it", () => {
      const f = syn(2900);
      expect(f.status).toBe("warn");
      expect(f.fix).toMatch(/3,500 ms/);
    });

    it("counts three retransmissions into the default 10 s", () => {
      expect(syn(DEFAULT_TERMINAL.connectTimeoutMs).values.synRetransmissionsThatFit).toBe(3);
    });
  });

  describe("retry-amplification", () => {
    const retry = (policy: TerminalSettings["retry"]["policy"], maxAttempts: number, reversalAttempts = 3) =>
      finding(
        check({ retry: { ...DEFAULT_TERMINAL.retry, policy, maxAttempts }, reversalAttempts }),
        "retry-amplification",
      );

    it("fails immediate retries with 5 attempts", () => {
      const f = retry("immediate", 5);
      expect(f.status).toBe("fail");
      expect(f.values.signinAttemptsProduct).toBe(5);
      expect(f.fix).toMatch(/exponential backoff with jitter/);
    });

    it("warns a backed-off layer with more than 3 attempts", () => {
      expect(retry("exponential", 5).status).toBe("warn");
      expect(retry("exponential", 3, 6).status).toBe("warn");
    });

    it("passes 3 attempts, and counts one for policy none", () => {
      expect(retry("immediate", 3).status).toBe("ok");
      const none = retry("none", 10);
      expect(none.status).toBe("ok");
      expect(none.values.terminalSigninAttempts).toBe(1);
    });
  });

  describe("echo-before-switch-idle-timeout", () => {
    const idleMs = switchSpec.idleTimeoutMs.default;
    const echo = (mode: TerminalSettings["mode"], echoIntervalMs: number) =>
      finding(check({ mode, echoIntervalMs }), "echo-before-switch-idle-timeout");

    it("fails a long link whose echo comes at or after the switch's idle timeout", () => {
      const f = echo("long", idleMs);
      expect(f.status).toBe("fail");
      expect(f.values.switchIdleTimeoutMs).toBe(idleMs);
      expect(f.consequence).toMatch(/closed/);
    });

    it("warns an echo inside the last 20 % of the idle timeout", () => {
      expect(echo("long", idleMs * 0.9).status).toBe("warn");
    });

    it("passes the default echo on a long link", () => {
      expect(echo("long", DEFAULT_TERMINAL.echoIntervalMs).status).toBe("ok");
    });

    it("passes short mode whatever the echo, saying the rule applies to long links", () => {
      const f = echo("short", idleMs * 2);
      expect(f.status).toBe("ok");
      expect(f.values.appliesTo).toMatch(/long/);
    });
  });

  it("warns a long link that waits longer for an 0830 than for a purchase", () => {
    const f = finding(
      check({ mode: "long", idleTimeoutMs: 90_000, responseTimeoutMs: 60_000 }),
      "echo-wait-within-response-timeout",
    );
    expect(f.status).toBe("warn");
  });

  describe("reversals-vs-store-and-forward", () => {
    it("fails a terminal that never reverses", () => {
      const f = finding(check({ reversalAttempts: 0 }), "reversals-vs-store-and-forward");
      expect(f.status).toBe("fail");
      expect(f.fix).toMatch(String(DEFAULT_TERMINAL.reversalAttempts));
    });

    it("passes the default with the switch's store-and-forward interval in values", () => {
      const f = finding(check(), "reversals-vs-store-and-forward");
      expect(f.status).toBe("ok");
      expect(f.values.switchSafRetryMs).toBe(switchSpec.safRetryMs.default);
    });
  });

  describe("response-timeout-at-percentile", () => {
    const measured: ChainInput["measured"] = { operation: "purchase", percentiles: { p99: 400, p999: 900 } };
    const fast = { switch: { issuerTimeoutMs: 1000 } };

    it("is ok without a measurement and asks for a baseline", () => {
      const f = finding(check(), "response-timeout-at-percentile");
      expect(f.status).toBe("ok");
      expect(f.values.measured).toMatch(/run a baseline/);
    });

    it("fails a response timeout below the measured p99.9", () => {
      const f = finding(
        check({ responseTimeoutMs: 600 }, fast, { measured }),
        "response-timeout-at-percentile",
      );
      expect(f.status).toBe("fail");
      expect(f.values.p999Ms).toBe(900);
      // 900 × 1.5 = 1,350 → 1,400; the switch budget 1,000 + 500 = 1,500 → 1,600 wins.
      expect(f.values.recommendedResponseTimeoutMs).toBe(1600);
      expect(f.fix).toMatch(/1,600 ms/);
    });

    it("warns a response timeout over 10× the p99.9", () => {
      const f = finding(
        check({ responseTimeoutMs: 60_000 }, fast, { measured }),
        "response-timeout-at-percentile",
      );
      expect(f.status).toBe("warn");
    });

    it("recommends the percentile × 1.5 when the switch budget is lower", () => {
      const slow = { operation: "purchase" as const, percentiles: { p999: 4000 } };
      const f = finding(
        check({ responseTimeoutMs: 3000 }, fast, { measured: slow }),
        "response-timeout-at-percentile",
      );
      expect(f.values.recommendedResponseTimeoutMs).toBe(6000);
    });

    it("uses the percentile of the chosen false-timeout rate", () => {
      const f = finding(
        check({ responseTimeoutMs: 600 }, fast, { measured, falseTimeoutRate: 0.01 }),
        "response-timeout-at-percentile",
      );
      expect(f.values.percentile).toBe("p99");
      expect(f.status).toBe("ok");
    });
  });
});

describe("renderChainMarkdown", () => {
  it("lists every rule in a table and escapes pipes", () => {
    const findings = check({ responseTimeoutMs: 2000 });
    findings[0] = { ...findings[0]!, consequence: "a | b", values: { note: "x|y" } };
    const md = renderChainMarkdown(findings);
    for (const rule of CHAIN_RULES) expect(md).toContain(rule);
    expect(md).toContain("a \\| b");
    expect(md).toContain("x\\|y");
    const lines = md.split("\n");
    expect(lines).toHaveLength(CHAIN_RULES.length + 2);
    expect(lines[0]).toBe("| status | rule | values | consequence | fix |");
  });
});
