import { describe, expect, it } from "vitest";
import { validateFault } from "./faults.ts";
import { INCIDENTS, LINK_FLAP } from "./incidents.ts";
import { NETWORK_PROFILES, type NetworkProfileName, networkProfile } from "./presets.ts";
import { phasesOf, validateTimeline } from "./timeline.ts";

describe("network presets", () => {
  it("are valid faults that can run together on one link", () => {
    for (const name of Object.keys(NETWORK_PROFILES) as NetworkProfileName[]) {
      const faults = networkProfile(name, "edge");
      expect(faults.flatMap((f, i) => validateFault(f, `${name}[${i}]`))).toEqual([]);
      expect(
        validateTimeline(
          faults.map((fault) => ({ at: 0, for: 10, fault })),
          10,
        ),
      ).toEqual([]);
      expect(NETWORK_PROFILES[name].source.length).toBeGreaterThan(20);
    }
  });

  it("splits the round trip over both directions and caps each direction", () => {
    expect(networkProfile("3g", "edge")).toEqual([
      { kind: "latency", link: "edge", latencyMs: 150, jitterMs: 25, direction: "both" },
      { kind: "bandwidth", link: "edge", rateKBps: 200, direction: "downstream" },
      { kind: "bandwidth", link: "edge", rateKBps: 96, direction: "upstream" },
      { kind: "packet-loss", link: "edge", lossPercent: 0.5, direction: "both" },
    ]);
  });

  it("can leave out kernel loss and apply to a share of terminals", () => {
    const faults = networkProfile("gprs", "edge", { packetLoss: false, toxicity: 0.3 });
    expect(faults.map((f) => f.kind)).toEqual(["latency", "bandwidth", "bandwidth"]);
    expect(faults.every((f) => "toxicity" in f && f.toxicity === 0.3)).toBe(true);
    expect(networkProfile("lan", "hsm")).toEqual([
      { kind: "latency", link: "hsm", latencyMs: 1, direction: "both" },
    ]);
  });
});

describe("incident library", () => {
  it("gives valid, non-overlapping timelines for every incident", () => {
    for (const incident of Object.values(INCIDENTS)) {
      const entries = incident.entries(30, 60);
      expect(validateTimeline(entries, 100), incident.id).toEqual([]);
      expect(incident.description.length).toBeGreaterThan(40);
      expect(entries.length).toBeGreaterThan(0);
    }
  });

  it("floods the link it is given with 1000 idle connections/s, each held 60 s", () => {
    expect(INCIDENTS["connection-flood"].entries(30, 20, { link: "issuer-a" })).toEqual([
      {
        name: "connection-flood:connection-flood",
        at: 30,
        for: 20,
        fault: { kind: "connection-flood", link: "issuer-a", connectionsPerSecond: 1000, holdOpenS: 60 },
      },
    ]);
  });

  it("flaps a link down and up while the flaps fit in the window", () => {
    const entries = INCIDENTS["link-flap"].entries(10, 50, { link: "issuer-b" });
    expect(entries.map((e) => [e.at, e.for])).toEqual([
      [10, 5],
      [25, 5],
      [40, 5],
      [55, 5],
    ]);
    expect(entries.every((e) => e.fault.kind === "down" && e.fault.link === "issuer-b")).toBe(true);
    expect(LINK_FLAP.downS + LINK_FLAP.upS).toBe(15);
    const phases = phasesOf(entries, 70).map((p) => p.name);
    expect(phases).toEqual([
      "baseline",
      "fault:link-flap#1",
      "recovery",
      "fault:link-flap#2",
      "recovery",
      "fault:link-flap#3",
      "recovery",
      "fault:link-flap#4",
      "recovery",
    ]);
  });

  it("takes the issuer for issuer incidents", () => {
    const entries = INCIDENTS["issuer-brownout"].entries(0, 10, { issuer: "issuer-b" });
    expect(entries.map((e) => [e.name, e.fault])).toEqual([
      ["issuer-brownout:slow", { kind: "issuer-slow", issuer: "issuer-b", medianMs: 3000, p99Ms: 40_000 }],
      [
        "issuer-brownout:errors",
        { kind: "issuer-errors", issuer: "issuer-b", responseMix: { "00": 90, "91": 5, "96": 5 } },
      ],
    ]);
  });
});
