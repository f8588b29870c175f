import { defineProfile } from "../harness/profile/define.ts";

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
    {
      id: "purchase-timeouts",
      indicator: "timeout-rate",
      scope: { operation: "purchase" },
      objective: { max: 0.005 },
    },
    {
      id: "purchase-errors",
      indicator: "error-rate",
      scope: { operation: "purchase" },
      objective: { max: 0.001 },
    },
    {
      id: "baseline-purchase-p99",
      indicator: "latency",
      percentile: "p99",
      scope: { operation: "purchase", phase: "baseline" },
      objective: { max: 1_000 },
      warn: { max: 500 },
    },
    {
      // The brownout may slow purchases down, not past the terminals' 30 s timer.
      id: "brownout-purchase-p99",
      indicator: "latency",
      percentile: "p99",
      scope: { operation: "purchase", phase: "fault:issuer-a-brownout" },
      objective: { max: 20_000 },
      warn: { max: 10_000 },
    },
    {
      id: "worst-minute-success",
      indicator: "success-rate",
      scope: { operation: "purchase", window: { worstOfS: 60, minAttempts: 100 } },
      objective: { min: 0.99 },
    },
    { id: "one-sided", indicator: "one-sided", objective: { max: 0 } },
  ],
});
