import { defineProfile } from "../harness/profile/define.ts";

// Opening time: 10,000 terminals sign in, most of them within a few minutes of 08:00 (a normal curve
// peaking 2 minutes in), each then buys once. The HSM is the classic bottleneck: at 300 key
// generations/s the peak (about 10,000 × 0.4 / 60 ≈ 67 sign-ins/s at the top of the curve, more with
// retries) is within capacity; cut it with an `hsm-capacity` fault to see the storm tip over.
export default defineProfile({
  name: "morning-signin-storm",
  description:
    "10,000 terminals sign in around opening time (normal curve, σ 60 s) and buy once; HSM 300 calls/s",
  durationS: 420,
  lab: {
    hsm: { capacityPerSecond: 300, serviceTimeMs: 2 },
    issuers: { a: { medianMs: 60, p99Ms: 400, workers: 64 }, b: { medianMs: 60, p99Ms: 400, workers: 64 } },
  },
  terminal: {
    count: 10_000,
    connectTimeoutMs: 10_000,
    responseTimeoutMs: 30_000,
    retry: { policy: "exponential", delayMs: 2_000, maxDelayMs: 30_000, maxAttempts: 4 },
  },
  fleet: {
    model: "population",
    terminals: 10_000,
    signIn: { curve: "normal", windowS: 300, peakAtS: 120, sigmaS: 60 },
    purchases: { perTerminal: 1, thinkTimeS: { mean: 30, jitter: 25 } },
  },
});
