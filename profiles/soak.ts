import { defineProfile, slo } from "../harness/profile/define.ts";

// Soak: 30 minutes at a steady 50 purchases/s over long connections (echo heartbeat after 60 s idle) on a 4G
// access network, to find leaks, slow drifts and connections that die quietly.
export default defineProfile({
  name: "soak",
  description: "30 min at 50 purchases/s, long connections, 4G on edge",
  durationS: 1_800,
  network: { profile: "4g", link: "edge" },
  terminal: { count: 2_000, mode: "long", echoIntervalMs: 60_000, responseTimeoutMs: 30_000 },
  fleet: {
    // Long links need the population model: 2,000 terminals sign in over the first minute, then each buys
    // every 10–70 s (40 s on average: 50 purchases/s fleet-wide) until the 30 minutes are up.
    model: "population",
    terminals: 2_000,
    signIn: { curve: "uniform", windowS: 60 },
    purchases: { perTerminal: 45, thinkTimeS: { mean: 40, jitter: 30 } },
  },
  slos: [
    slo.timeouts("purchase", 0.001),
    // A slow drift shows as one bad stretch late in the run, not in the whole-run figure.
    slo.p99("purchase", 3_000, {
      id: "worst-5min-purchase-p99",
      window: { worstOfS: 300, minAttempts: 1_000 },
      warn: 2_000,
    }),
    { id: "idle-timeouts", indicator: "timeout-rate", kind: "idle", objective: { max: 0 } },
    slo.oneSided(),
  ],
});
