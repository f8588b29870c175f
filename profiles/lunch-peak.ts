import { defineProfile, slo } from "../harness/profile/define.ts";

// Lunch: purchases ramp from 50/s to 400/s over 2 minutes and hold for 5, from 5,000 terminals (a purchase signs
// its terminal in first when it has no session). Issuer a (3 cards in 4) browns out for a minute at the top of
// the peak: its median service time goes to 2 s, still under the switch's 30 s timeout; its 1,024 workers then
// serve about 500 purchases/s, above the ~300/s it gets, so the brownout slows purchases without a queue.
export default defineProfile({
  name: "lunch-peak",
  description: "purchases ramp 50/s → 400/s and hold; issuer a slows to a 2 s median for 60 s at the peak",
  durationS: 480,
  lab: {
    issuers: {
      a: { medianMs: 80, p99Ms: 400, workers: 1_024 },
      b: { medianMs: 80, p99Ms: 400, workers: 1_024 },
    },
  },
  terminal: { count: 5_000, responseTimeoutMs: 30_000 },
  fleet: {
    model: "open",
    operation: "purchase",
    stages: [
      { durationS: 60, ratePerS: 50 },
      { durationS: 120, ratePerS: 400 },
      { durationS: 300, ratePerS: 400 },
    ],
    maxVUs: 4_000,
    terminals: 5_000,
  },
  chaos: [
    {
      name: "issuer-a-brownout",
      at: 240,
      for: 60,
      fault: { kind: "issuer-slow", issuer: "issuer-a", medianMs: 2_000, p99Ms: 8_000 },
    },
  ],
  slos: [
    slo.timeouts("purchase", 0.005),
    slo.errors("purchase", 0.001),
    slo.p99("purchase", 1_000, { id: "baseline-purchase-p99", phase: "baseline", warn: 500 }),
    // The brownout may slow purchases down, not past the terminals' 30 s timer.
    slo.p99("purchase", 20_000, {
      id: "brownout-purchase-p99",
      phase: "fault:issuer-a-brownout",
      warn: 10_000,
    }),
    slo.success("purchase", 0.99, { id: "worst-minute-success", window: { worstOfS: 60, minAttempts: 100 } }),
    slo.oneSided(),
  ],
});
