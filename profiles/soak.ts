import { defineProfile } from "../harness/profile/define.ts";

// Soak: 30 minutes at a steady 50 purchases/s over long connections (echo heartbeat every 60 s) on a 4G
// access network, to find leaks, slow drifts and connections that die quietly.
export default defineProfile({
  name: "soak",
  description: "30 min at 50 purchases/s, long connections, 4G on edge",
  durationS: 1_800,
  network: { profile: "4g", link: "edge" },
  terminal: { count: 2_000, mode: "long", echoIntervalMs: 60_000, responseTimeoutMs: 30_000 },
  fleet: {
    model: "open",
    operation: "purchase",
    stages: [{ durationS: 1_800, ratePerS: 50 }],
    preAllocatedVUs: 100,
    maxVUs: 400,
    terminals: 2_000,
  },
});
