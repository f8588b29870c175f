import { defineProfile, slo } from "../harness/profile/define.ts";

// How many sign-ins per second does the switch take within its SLOs when its HSM is licensed for 250 calls/s?
// Made for `posstorm capacity signin-capacity`: the search drives sign-ins at rising rates (open model) and
// judges each step by the SLOs below; `posstorm run signin-capacity` runs the load as written (150/s for 30 s).
// Every sign-in costs the switch one HSM call (working keys), so the answer should sit at the HSM's 250/s, with
// the HSM named as what saturated first.
export default defineProfile({
  name: "signin-capacity",
  description: "sign-ins at a rate (capacity searches it); HSM licensed for 250 calls/s",
  durationS: 30,
  lab: { hsm: { capacityPerSecond: 250 } },
  terminal: { responseTimeoutMs: 5_000, connectTimeoutMs: 3_000 },
  fleet: {
    model: "open",
    operation: "signin",
    stages: [{ durationS: 30, ratePerS: 150 }],
    maxVUs: 2_000,
    terminals: 2_000,
  },
  slos: [slo.p99("signin", 500), slo.timeouts("signin", 0.001), slo.success("signin", 0.999)],
});
