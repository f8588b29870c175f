import { defineProfile, slo } from "../harness/profile/define.ts";

// The CI profile: a small fleet signs in and buys through the reference lab while the edge link slows
// down for 10 s; finishes in well under 2 minutes.
export default defineProfile({
  name: "smoke",
  description: "50 terminals sign in over 5 s and buy 4 times each; 200 ms latency on edge from 10 s to 20 s",
  durationS: 30,
  lab: { runtime: "containers", issuers: { a: { medianMs: 20, p99Ms: 80 }, b: { medianMs: 20, p99Ms: 80 } } },
  terminal: { responseTimeoutMs: 5_000, connectTimeoutMs: 3_000 },
  fleet: {
    model: "population",
    terminals: 50,
    signIn: { curve: "uniform", windowS: 5 },
    purchases: { perTerminal: 4, thinkTimeS: { mean: 4, jitter: 2 } },
  },
  chaos: [
    { name: "edge-latency", at: 10, for: 10, fault: { kind: "latency", link: "edge", latencyMs: 200 } },
  ],
  slos: [
    slo.timeouts("purchase", 0.01),
    slo.success("signin", 0.99),
    slo.p99("purchase", 1_000, { id: "baseline-purchase-p99", phase: "baseline", warn: 500 }),
    slo.oneSided(),
    { id: "recovery", indicator: "recovery-time", objective: { max: 10 } },
  ],
});
