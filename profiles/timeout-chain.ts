import { defineProfile, slo } from "../harness/profile/define.ts";

// A timeout chain set the wrong way round, for `posstorm timeouts timeout-chain`: the terminals give up after
// 2 s while the switch waits 5 s for an issuer whose p99 is 3 s. An approval that comes after the terminal gave
// up is one the cardholder pays and the merchant never sees, unless a reversal lands. Here the network hides a
// terminal's hang-up from the switch (slow_close upstream on edge: NAT and mobile links do this), so the switch
// believes it delivered the late approval, and each terminal buys once and goes quiet, so no later transaction
// carries its reversal: every late approval is one-sided. The static check flags the chain; the matrix
// (`--terminal 2000,8000 --switch 1000,5000`) shows which settings are safe.
export default defineProfile({
  name: "timeout-chain",
  description: "terminal 2 s < switch issuer timeout 5 s, issuer p99 3 s; hang-ups hidden from the switch",
  durationS: 10,
  lab: {
    issuers: { a: { medianMs: 1_500, p99Ms: 3_000 }, b: { medianMs: 1_500, p99Ms: 3_000 } },
    switch: { issuerTimeoutMs: 5_000 },
  },
  terminal: { responseTimeoutMs: 2_000, connectTimeoutMs: 3_500 },
  fleet: {
    model: "population",
    terminals: 60,
    signIn: { curve: "uniform", windowS: 3 },
    purchases: { perTerminal: 1, thinkTimeS: { mean: 2, jitter: 1 } },
  },
  chaos: [
    {
      name: "hidden-hang-up",
      at: 0,
      for: 10,
      fault: { kind: "slow_close", link: "edge", delayMs: 60_000, direction: "upstream" },
    },
  ],
  slos: [slo.oneSided(), slo.success("purchase", 0.95)],
});
