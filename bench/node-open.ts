import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { GENERATOR_BOUNDS } from "../harness/fleet/generator-limits.ts";
import { raiseThreadPriority, type ThreadPriority } from "../harness/fleet/thread-priority.ts";
import { TestTerminal } from "../harness/sim/switch/testing/terminal.ts";
import { rateRuleFailures } from "./pass-rule.ts";
import { percentile } from "./stats.ts";

// The minimal Node client of node-ceiling.ts driven as an open model, so its rate can be judged by the fleet's
// pass rule (fleet.bench.ts benchRateStep): arrivals at the exact times k / rate for `seconds`, each taking the
// longest-idle free terminal for one sign-in (a new connection through `edge`); an arrival that finds
// `maxVUs` busy is dropped and counted. Latency counts from the intended time; the lateness of each start is
// kept, and the event-loop delay per second (the fleet's self-watch, 10 ms resolution), so "generator-limited"
// means the same here as in run.json.
//
//   node bench/node-open.ts '<OpenClientOptions as JSON>'   (what like-for-like.ts benchNodeOpen spawns)

export interface OpenClientOptions {
  host: string;
  port: number;
  ratePerS: number;
  seconds: number;
  maxVUs: number;
  /** TIDs POS00001 … of the switch's fleet. */
  terminals: number;
}

export interface OpenClientResult {
  arrivals: number;
  dropped: number;
  /** Sign-ins run (arrivals not dropped), all with intended times inside the window. */
  signIns: number;
  approved: number;
  failures: Record<string, number>;
  /** Intended start → reply, every sign-in, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Actual − intended start, over every start, ms. */
  lagP99Ms: number;
  lagMaxMs: number;
  /** The worst second's event-loop delay p99, ms. */
  loopDelayP99MaxMs: number;
  /** The client thread's scheduling (set by the entry below, as the fleet's threads set theirs). */
  priority?: ThreadPriority;
  /** Load window (epoch ms: first intended start → last reply) and this process's CPU seconds in it. */
  startMs: number;
  endMs: number;
  cpuSeconds: number;
}

const LOOP_DELAY_RESOLUTION_MS = 10;

export async function nodeOpenClient(opts: OpenClientOptions): Promise<OpenClientResult> {
  const endpoint = { host: opts.host, port: opts.port };
  const pool: (TestTerminal | undefined)[] = [];
  const free = new Int32Array(opts.terminals);
  for (let i = 0; i < opts.terminals; i++) free[i] = i;
  let head = 0;
  let size = opts.terminals;
  let busy = 0;
  let dropped = 0;
  let approved = 0;
  const failures: Record<string, number> = {};
  const latencies: number[] = [];
  const lags: number[] = [];

  const delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  delay.enable();
  let loopDelayP99MaxMs = 0;
  const perSecond = setInterval(() => {
    if (delay.count > 0)
      loopDelayP99MaxMs = Math.max(loopDelayP99MaxMs, delay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS);
    delay.reset();
  }, 1000);

  const interval = 1000 / opts.ratePerS;
  const total = Math.floor(opts.ratePerS * opts.seconds);
  const t0 = performance.now() + 20;
  const epoch0 = Date.now() + 20;
  const cpu0 = process.cpuUsage();
  let k = 0;
  let lastReply = t0;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const settle = () => {
    if (k >= total && busy === 0) finished();
  };

  const start = (intended: number, now: number) => {
    if (busy >= opts.maxVUs || size === 0) {
      dropped++;
      return;
    }
    lags.push(now - intended);
    const i = free[head]!;
    head = (head + 1) % free.length;
    size--;
    busy++;
    pool[i] ??= new TestTerminal(endpoint, `POS${String(i + 1).padStart(5, "0")}`);
    const t = pool[i];
    const done = (reason: string | undefined) => {
      const end = performance.now();
      lastReply = Math.max(lastReply, end);
      if (reason === undefined) approved++;
      else failures[reason] = (failures[reason] ?? 0) + 1;
      latencies.push(end - intended);
      free[(head + size) % free.length] = i;
      size++;
      busy--;
      settle();
    };
    t.signIn().then(
      (reply) => done(reply.responseCode === "00" && reply.keys ? undefined : `F39 ${reply.responseCode}`),
      (error: unknown) =>
        done((error as NodeJS.ErrnoException).code ?? (error as Error).message.slice(0, 60)),
    );
  };

  const tick = () => {
    const now = performance.now();
    while (k < total && t0 + k * interval <= now) {
      start(t0 + k * interval, now);
      k++;
    }
    if (k < total) setTimeout(tick, Math.max(0, t0 + k * interval - performance.now()));
    else settle();
  };
  setTimeout(tick, Math.max(0, t0 - performance.now()));
  await allDone;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(perSecond);
  delay.disable();
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  return {
    arrivals: total,
    dropped,
    signIns: latencies.length,
    approved,
    failures,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    lagP99Ms: percentile(lags, 0.99),
    lagMaxMs: lags.at(-1) ?? 0,
    loopDelayP99MaxMs,
    startMs: epoch0,
    endMs: epoch0 + (lastReply - t0),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** Why an open-model client step fails the fleet's pass rule (pass-rule.ts; none: it passes). */
export function openClientFailures(r: OpenClientResult, ratePerS: number, seconds: number): string[] {
  return rateRuleFailures({
    ratePerS,
    achievedPerS: r.signIns / seconds,
    dropped: r.dropped,
    approvedRatio: r.signIns > 0 ? r.approved / r.signIns : 0,
    // the fleet's generator bounds (run.json `fleet.generator`), from the client's own watch
    generatorLimited:
      r.dropped > GENERATOR_BOUNDS.droppedArrivals ||
      r.lagP99Ms > GENERATOR_BOUNDS.scheduleLagP99Ms ||
      r.loopDelayP99MaxMs > GENERATOR_BOUNDS.loopDelayP99Ms,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // the client's thread at the fleet's threads' priority (like with like: harness/fleet/thread-priority.ts)
  const priority = raiseThreadPriority();
  const result = await nodeOpenClient(JSON.parse(process.argv[2]!) as OpenClientOptions);
  process.stdout.write(`${JSON.stringify({ ...result, priority })}\n`);
}
