import {
  codecRoundTrip,
  type RoundTripMac,
  type RoundTripOutcome,
  saleRoundTrip,
} from "../harness/protocol/testing/saleRoundTrip.ts";

// Node benchmark of the codec: 0200 round trips per second on one thread (workloads in
// testing/saleRoundTrip.ts). scripts/bench.ts runs it and writes docs/benchmarks.md.

export interface CodecFigure {
  /** What was measured. */
  case: string;
  mac: RoundTripMac;
  roundTrips: number;
  /** Wall-clock time of the measured run. */
  seconds: number;
  /** CPU time this process used during the run (GC threads included). */
  cpuSeconds: number;
  /** Round trips per wall-clock second. */
  roundTripsPerSecond: number;
  /** Round trips per CPU second: the single-core figure, unaffected by other load on the machine. */
  roundTripsPerCpuSecond: number;
  microsecondsPerRoundTrip: number;
  frameBytes: number;
}

export interface CodecBenchOptions {
  /** Measured time per case, ms (default 2000). */
  durationMs?: number;
  /** Unmeasured time per case before it, ms (default 500). */
  warmupMs?: number;
}

interface BenchCase {
  case: string;
  mac: RoundTripMac;
  workload: (mac: RoundTripMac) => () => RoundTripOutcome;
}

export const codecCases: readonly BenchCase[] = [
  { case: "encode + decode, no MAC", mac: "none", workload: codecRoundTrip },
  {
    case: "encode + decode, UnionPay ECB MAC computed and verified",
    mac: "cup-ecb",
    workload: codecRoundTrip,
  },
  { case: "encode + decode, ANSI X9.19 MAC computed and verified", mac: "x9.19", workload: codecRoundTrip },
  { case: "typed build + encode + decode + typed read, no MAC", mac: "none", workload: saleRoundTrip },
  {
    case: "typed build + encode + decode + typed read, UnionPay ECB MAC",
    mac: "cup-ecb",
    workload: saleRoundTrip,
  },
];

/** Runs each case for `durationMs` after a warm-up, one after the other on this thread, and returns the figures. */
export function benchCodec(options: CodecBenchOptions = {}): CodecFigure[] {
  const durationMs = options.durationMs ?? 2000;
  const warmupMs = options.warmupMs ?? 500;
  return codecCases.map(({ case: name, mac, workload }) => {
    const roundTrip = workload(mac);
    runFor(roundTrip, warmupMs);
    const cpuBefore = process.cpuUsage();
    const { count, elapsedMs, last } = runFor(roundTrip, durationMs);
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return {
      case: name,
      mac,
      roundTrips: count,
      seconds: elapsedMs / 1000,
      cpuSeconds,
      roundTripsPerSecond: count / (elapsedMs / 1000),
      roundTripsPerCpuSecond: count / cpuSeconds,
      microsecondsPerRoundTrip: (cpuSeconds * 1e6) / count,
      frameBytes: last.bytes,
    };
  });
}

/** Calls `roundTrip` in batches until `ms` have passed; throws if a round trip ever fails its checks. */
function runFor(
  roundTrip: () => RoundTripOutcome,
  ms: number,
): { count: number; elapsedMs: number; last: RoundTripOutcome } {
  const started = performance.now();
  let now = started;
  let count = 0;
  let last = roundTrip();
  while (now - started < ms) {
    for (let i = 0; i < 1000; i++) {
      last = roundTrip();
      if (!last.macOk || !last.fieldsEqual) throw new Error(`round trip ${count + i} failed its checks`);
    }
    count += 1000;
    now = performance.now();
  }
  return { count, elapsedMs: now - started, last };
}
