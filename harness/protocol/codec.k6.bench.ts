import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findK6, runK6 } from "../load/k6.ts";
import type { RoundTripMac } from "./testing/saleRoundTrip.ts";

// The codec benchmark inside the k6 binary (goja/sobek JavaScript engine, no JIT): one VU runs
// harness/k6/smoke/codec-roundtrip.ts for a fixed time; k6's summary gives iterations/s and round trips/s.

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SCRIPT = "harness/k6/smoke/codec-roundtrip.ts";

export interface K6CodecFigure {
  case: string;
  workload: "sale" | "codec";
  mac: RoundTripMac;
  roundTripsPerIteration: number;
  iterations: number;
  iterationsPerSecond: number;
  roundTripsPerSecond: number;
  microsecondsPerRoundTrip: number;
}

export interface K6CodecBench {
  k6Version: string;
  durationSeconds: number;
  figures: K6CodecFigure[];
}

const CASES: ReadonlyArray<
  Omit<
    K6CodecFigure,
    "iterations" | "iterationsPerSecond" | "roundTripsPerSecond" | "microsecondsPerRoundTrip"
  >
> = [
  {
    case: "one typed 0200 round trip per iteration, UnionPay ECB MAC",
    workload: "sale",
    mac: "cup-ecb",
    roundTripsPerIteration: 1,
  },
  { case: "encode + decode, no MAC", workload: "codec", mac: "none", roundTripsPerIteration: 20 },
  {
    case: "encode + decode, UnionPay ECB MAC computed and verified",
    workload: "codec",
    mac: "cup-ecb",
    roundTripsPerIteration: 20,
  },
  {
    case: "typed build + encode + decode + typed read, UnionPay ECB MAC",
    workload: "sale",
    mac: "cup-ecb",
    roundTripsPerIteration: 20,
  },
];

/** Runs each case in k6 with one VU for `durationSeconds`; throws when k6 is missing or a run fails its checks. */
export async function benchCodecInK6(durationSeconds = 5): Promise<K6CodecBench> {
  const k6 = findK6();
  const k6Version = execFileSync(k6, ["version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  const figures: K6CodecFigure[] = [];
  for (const c of CASES) {
    const result = await runK6({
      k6,
      script: SCRIPT,
      cwd: repo,
      env: {
        WORKLOAD: c.workload,
        MAC: c.mac,
        ROUND_TRIPS: String(c.roundTripsPerIteration),
        DURATION: `${durationSeconds}s`,
      },
      timeoutMs: (durationSeconds + 60) * 1000,
    });
    const metrics = result.summary?.metrics;
    if (result.exitCode !== 0 || !metrics || result.summary?.checks.fails !== 0) {
      throw new Error(
        `k6 codec benchmark "${c.case}" failed (exit ${result.exitCode}): ${result.stderr.slice(-500)}`,
      );
    }
    const roundTripsPerSecond = metrics.codec_round_trips?.values.rate ?? 0;
    figures.push({
      ...c,
      iterations: metrics.iterations?.values.count ?? 0,
      iterationsPerSecond: metrics.iterations?.values.rate ?? 0,
      roundTripsPerSecond,
      microsecondsPerRoundTrip: 1e6 / roundTripsPerSecond,
    });
  }
  return { k6Version, durationSeconds, figures };
}
