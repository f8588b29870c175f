import { describe, expect, it } from "vitest";
import { describeFault, type Fault, faultDirections, faultTarget, validateFault } from "./faults.ts";
import { nftAddScript } from "./kernel.ts";

describe("validateFault", () => {
  it("accepts every kind in its documented shape", () => {
    const faults: Fault[] = [
      { kind: "latency", link: "edge", latencyMs: 200, jitterMs: 50, direction: "both", toxicity: 0.3 },
      { kind: "bandwidth", link: "hsm", rateKBps: 16 },
      { kind: "slow_close", link: "edge", delayMs: 1000 },
      { kind: "timeout", link: "issuer-a", timeoutMs: 0 },
      { kind: "reset_peer", link: "edge", timeoutMs: 100, direction: "upstream" },
      { kind: "slicer", link: "edge", averageSizeBytes: 10, sizeVariationBytes: 5, delayUs: 100 },
      { kind: "limit_data", link: "edge", bytes: 64 },
      { kind: "down", link: "issuer-b" },
      { kind: "packet-loss", link: "edge", lossPercent: 0.5 },
      { kind: "syn-drop", link: "edge" },
      { kind: "connection-kill", link: "edge", method: "ss-kill" },
      { kind: "issuer-slow", issuer: "issuer-a", medianMs: 3000, p99Ms: 40_000 },
      { kind: "issuer-errors", issuer: "issuer-a", responseMix: { "00": 90, "91": 10 } },
      { kind: "hsm-capacity", capacityPerSecond: 20 },
      { kind: "switch-config", settings: { issuerTimeoutMs: 5000, shedding: true } },
      { kind: "switch-restart", downMs: 2000 },
    ];
    for (const [i, f] of faults.entries()) expect(validateFault(f, `chaos[${i}]`)).toEqual([]);
  });

  it("names the entry, the field, the value and the bound", () => {
    expect(validateFault({ kind: "latency", link: "edge", latencyMs: -5 }, "chaos[1]")).toEqual([
      "chaos[1].latencyMs: -5 must be >= 0",
    ]);
    expect(validateFault({ kind: "packet-loss", link: "edge", lossPercent: 120 }, "chaos[0]")).toEqual([
      "chaos[0].lossPercent: 120 must be <= 100",
    ]);
    expect(validateFault({ kind: "latency", link: "edge", latencyMs: 10, toxicity: 1.5 }, "p")).toEqual([
      "p.toxicity: 1.5 must be <= 1",
    ]);
    expect(validateFault({ kind: "bandwidth", link: "edge", rateKBps: 0.5 }, "p")).toEqual([
      "p.rateKBps: 0.5 is not a whole number",
    ]);
    expect(validateFault({ kind: "latency", link: "edge", latencyMs: "200" }, "p")).toEqual([
      'p.latencyMs: "200" is not a number',
    ]);
  });

  it("reports a missing field with what the kind needs, and unknown fields (typos)", () => {
    expect(validateFault({ kind: "latency", link: "edge", latency: 200 }, "chaos[2]")).toEqual([
      "chaos[2].latencyMs: missing (latency needs latencyMs, jitterMs?)",
      "chaos[2].latency: not a field of latency (fields: link, direction, toxicity, latencyMs, jitterMs)",
    ]);
  });

  it("rejects unknown kinds, links and issuers", () => {
    expect(validateFault({ kind: "jitter", link: "edge" }, "f")[0]).toMatch(
      /^f\.kind: "jitter" is not a fault kind \(latency, /,
    );
    expect(validateFault({ kind: "down", link: "edg" }, "f")).toEqual([
      'f.link: "edg" is not a link (edge, hsm, issuer-<name> or agent-<name>)',
    ]);
    expect(validateFault({ kind: "issuer-slow", issuer: "a", medianMs: 1, p99Ms: 2 }, "f")).toEqual([
      'f.issuer: "a" is not an issuer (issuer-<name>, e.g. issuer-a)',
    ]);
    expect(validateFault(null, "chaos[3]")).toEqual(["chaos[3]: null is not a fault object"]);
  });

  it("checks cross-field rules: slicer variation, response mix, switch settings", () => {
    expect(
      validateFault({ kind: "slicer", link: "edge", averageSizeBytes: 4, sizeVariationBytes: 4 }, "f"),
    ).toEqual(["f.sizeVariationBytes: 4 must be below averageSizeBytes (4)"]);
    expect(
      validateFault({ kind: "issuer-errors", issuer: "issuer-a", responseMix: { "0": 1 } }, "f"),
    ).toEqual(['f.responseMix: response code "0" is not 2 characters (00, 91, A0 …)']);
    expect(
      validateFault({ kind: "issuer-errors", issuer: "issuer-a", responseMix: { "00": 0 } }, "f"),
    ).toEqual(["f.responseMix: weights are all 0"]);
    expect(
      validateFault({ kind: "switch-config", settings: { issuerTimeout: 5000, issuerTimeoutMs: -1 } }, "f"),
    ).toEqual([
      expect.stringMatching(/^f\.settings\.issuerTimeout: not a runtime switch setting \(issuerTimeoutMs, /),
      "f.settings.issuerTimeoutMs: -1 must be >= 1",
    ]);
  });
});

describe("fault helpers", () => {
  it("targets links, issuers and programs", () => {
    expect(faultTarget({ kind: "latency", link: "edge", latencyMs: 1 })).toBe("edge");
    expect(faultTarget({ kind: "issuer-slow", issuer: "issuer-b", medianMs: 1, p99Ms: 1 })).toBe("issuer-b");
    expect(faultTarget({ kind: "hsm-capacity", capacityPerSecond: 1 })).toBe("hsm");
    expect(faultTarget({ kind: "switch-restart" })).toBe("switch");
  });

  it("defaults toxics to downstream and packet loss to both directions", () => {
    expect(faultDirections({ kind: "latency", link: "edge", latencyMs: 1 })).toEqual(["downstream"]);
    expect(faultDirections({ kind: "packet-loss", link: "edge", lossPercent: 1 })).toEqual([
      "upstream",
      "downstream",
    ]);
    expect(faultDirections({ kind: "down", link: "edge" })).toBeUndefined();
  });

  it("describes faults with their units", () => {
    expect(
      describeFault({ kind: "latency", link: "edge", latencyMs: 200, jitterMs: 50, toxicity: 0.25 }),
    ).toBe("latency 200ms ±50ms on edge (downstream), 25% of connections");
    expect(describeFault({ kind: "syn-drop", link: "hsm" })).toBe("SYN drop 100% on hsm");
  });
});

describe("nft rules", () => {
  it("drops at random on the port both ways at the output hook, loopback only", () => {
    const script = nftAddScript({
      kind: "packet-loss",
      link: "edge",
      port: 4100,
      lossPercent: 30,
      directions: ["upstream", "downstream"],
    });
    expect(script).toContain("add table inet posstorm");
    expect(script).toContain(
      "create chain inet posstorm packet-loss_edge_both".replace("-", "_") +
        " { type filter hook output priority 0; policy accept; }",
    );
    expect(script).toContain('oifname "lo" tcp dport 4100 numgen random mod 10000 < 3000 counter drop');
    expect(script).toContain('oifname "lo" tcp sport 4100 numgen random mod 10000 < 3000 counter drop');
  });

  it("drops only SYNs for syn-drop, without a random match at 100%", () => {
    const script = nftAddScript({
      kind: "syn-drop",
      link: "issuer-a",
      port: 4200,
      lossPercent: 100,
      directions: ["upstream"],
    });
    expect(script).toContain("syn_drop_issuer_a_upstream");
    expect(script).toContain('oifname "lo" tcp dport 4200 tcp flags & (syn | ack) == syn counter drop');
    expect(script).not.toContain("numgen");
  });
});
