// The codec inside k6: each iteration encodes a MAC'd 0200 with harness/protocol, decodes it, verifies the MAC
// and compares the values (the same workload as the Node benchmark, protocol/testing/saleRoundTrip.ts).
//
// Environment:
//   WORKLOAD     `sale` (typed build and read, default) or `codec` (IsoMessage encode/decode only)
//   MAC          `cup-ecb` (default), `x9.19`, `x9.19-ascii` or `none`
//   ROUND_TRIPS  round trips per iteration (default 1)
//   DURATION     run one VU for this long (`2s`); without it, ITERATIONS (default 100) shared iterations
//
// Metrics: codec_round_trips (counter), codec_frame_bytes (trend), and the checks "MAC verifies" and
// "fields equal"; the threshold on `checks` makes k6 exit non-zero when one fails.

import { check } from "k6";
import { Counter, Trend } from "k6/metrics";
import type { Options } from "k6/options";
import {
  codecRoundTrip,
  type RoundTripMac,
  type RoundTripOutcome,
  saleRoundTrip,
} from "../../protocol/testing/saleRoundTrip.ts";

const workload = __ENV.WORKLOAD || "sale";
if (workload !== "sale" && workload !== "codec")
  throw new Error(`WORKLOAD=${workload}: expected sale or codec`);
const mac = (__ENV.MAC || "cup-ecb") as RoundTripMac;
if (!["cup-ecb", "x9.19", "x9.19-ascii", "none"].includes(mac)) {
  throw new Error(`MAC=${mac}: expected cup-ecb, x9.19, x9.19-ascii or none`);
}
const roundTripsPerIteration = Number(__ENV.ROUND_TRIPS || "1");
if (!Number.isInteger(roundTripsPerIteration) || roundTripsPerIteration < 1) {
  throw new Error(`ROUND_TRIPS=${__ENV.ROUND_TRIPS} is not a whole number >= 1`);
}
const duration = __ENV.DURATION;

export const options: Options = {
  scenarios: {
    codec: duration
      ? { executor: "constant-vus", vus: 1, duration }
      : { executor: "shared-iterations", vus: 1, iterations: Number(__ENV.ITERATIONS || "100") },
  },
  thresholds: { checks: ["rate==1"] },
};

const roundTrips = new Counter("codec_round_trips");
const frameBytes = new Trend("codec_frame_bytes");
const roundTrip = (workload === "sale" ? saleRoundTrip : codecRoundTrip)(mac);

export default function (): void {
  let macOk = true;
  let fieldsEqual = true;
  let last: RoundTripOutcome | undefined;
  for (let i = 0; i < roundTripsPerIteration; i++) {
    last = roundTrip();
    macOk &&= last.macOk;
    fieldsEqual &&= last.fieldsEqual;
  }
  roundTrips.add(roundTripsPerIteration);
  frameBytes.add(last!.bytes);
  check(null, { "MAC verifies": () => macOk, "fields equal": () => fieldsEqual });
}
