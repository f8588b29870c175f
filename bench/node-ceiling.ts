import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { raiseThreadPriority, type ThreadPriority } from "../harness/fleet/thread-priority.ts";
import { startLab } from "../harness/lab/lab.ts";
import { toxiproxyLogLevel } from "../harness/lab/toxiproxy.ts";
import { TestTerminal } from "../harness/sim/switch/testing/terminal.ts";
import { PASS_APPROVED_RATIO } from "./pass-rule.ts";
import { ProcessWatch, readText, waitForQuiet } from "./process-watch.ts";
import { percentile } from "./stats.ts";

// The ceiling: the same containers lab driven by the barest Node client there is (TestTerminal.signIn, a new
// connection through `edge` per sign-in, key unwrap and check) from N concurrent closed loops in a Node process
// of its own. Whatever stops it is the lab on this machine, so the fleet's highest rate is judged against it.
//
//   node bench/node-ceiling.ts client '<ClientOptions as JSON>'   (what benchNodeCeiling spawns)

export interface NodeStep {
  concurrency: number;
  seconds: number;
  signIns: number;
  approved: number;
  /** Failures by reason (response code, or the error). */
  failures: Record<string, number>;
  perSecond: number;
  approvedRatio: number;
  p50Ms: number;
  p99Ms: number;
  clientCores: number;
  /** CPU seconds in the step by role (client, lab programs, shims, Docker engine, harness). */
  cpuSeconds: Record<string, number>;
  /** Machine busy cores during the step, and those of processes outside the bench. */
  machine: { busyCores: number; otherCores: number };
  /** The machine's busy cores just before the step (the lab idle): other people's work. */
  othersBefore: number;
  /** The client thread's scheduling. */
  priority?: ThreadPriority;
  passed: boolean;
}

export interface NodeFigure {
  steps: NodeStep[];
  /** Highest sign-ins/s of a step with at least 99.9% approved. */
  maxPerSecond: number;
  maxAtConcurrency: number;
  loadAverageBefore: number;
  loadAverageMax: number;
  toxiproxyLogLevel: string;
  /** Toxiproxy's log over the whole bench: bytes and lines per sign-in. */
  toxiproxyLog: { bytesPerSignIn: number; linesPerSignIn: number };
}

export interface ClientOptions {
  host: string;
  port: number;
  concurrency: number;
  seconds: number;
  warmupS: number;
  /** TIDs POS00001 … of the switch's fleet. */
  terminals: number;
}

export interface ClientResult {
  /** Sign-ins of the whole process, warm-up included. */
  attempts: number;
  signIns: number;
  approved: number;
  failures: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  /** Measurement window (epoch ms) and this process's CPU seconds in it. */
  startMs: number;
  endMs: number;
  cpuSeconds: number;
  /** The client thread's scheduling (set by the child's entry, as the fleet's threads set theirs). */
  priority?: ThreadPriority;
}

/**
 * `concurrency` closed loops of TestTerminal sign-ins (a new connection each), loop w on TIDs w, w + concurrency,
 * … (never two sign-ins of one TID at once); counts after `warmupS` for `seconds`.
 */
export async function nodeClient(opts: ClientOptions): Promise<ClientResult> {
  const endpoint = { host: opts.host, port: opts.port };
  const pool = new Map<number, TestTerminal>();
  const terminalAt = (i: number) => {
    let t = pool.get(i);
    if (!t) {
      t = new TestTerminal(endpoint, `POS${String(i + 1).padStart(5, "0")}`);
      pool.set(i, t);
    }
    return t;
  };
  let measuring = false;
  let running = true;
  let signIns = 0;
  let attempts = 0;
  let approved = 0;
  const failures: Record<string, number> = {};
  const latencies: number[] = [];
  const loop = async (w: number) => {
    let next = w;
    while (running) {
      const t = terminalAt(next);
      next = next + opts.concurrency >= opts.terminals ? w : next + opts.concurrency;
      const started = performance.now();
      let reason: string | undefined;
      try {
        const reply = await t.signIn();
        if (reply.responseCode !== "00" || !reply.keys) reason = `F39 ${reply.responseCode}`;
      } catch (error) {
        reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message.slice(0, 60);
      }
      attempts++;
      if (!measuring) continue;
      signIns++;
      if (reason === undefined) {
        approved++;
        latencies.push(performance.now() - started);
      } else failures[reason] = (failures[reason] ?? 0) + 1;
    }
  };
  const loops = Array.from({ length: opts.concurrency }, (_, w) => loop(w));
  await new Promise((r) => setTimeout(r, opts.warmupS * 1000));
  const cpu0 = process.cpuUsage();
  const startMs = Date.now();
  measuring = true;
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  measuring = false;
  const endMs = Date.now();
  const cpu = process.cpuUsage(cpu0);
  running = false;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  return {
    attempts,
    signIns,
    approved,
    failures,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    startMs,
    endMs,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

const THIS_FILE = fileURLToPath(import.meta.url);

/**
 * Runs `node <file> ...args` as the watched "node client" (so its CPU is the client's alone) and resolves with
 * the JSON it prints; killed after `timeoutS`.
 */
export function runJsonChild<T>(
  file: string,
  args: string[],
  watch: ProcessWatch,
  timeoutS: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    if (child.pid) watch.add(child.pid, "node client");
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutS * 1000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${file} exited ${code}: ${out.slice(-300)}`));
      else resolve(JSON.parse(out) as T);
    });
  });
}

/** Runs {@link nodeClient} in a child process of its own. */
const runClientProcess = (opts: ClientOptions, watch: ProcessWatch) =>
  runJsonChild<ClientResult>(
    THIS_FILE,
    ["client", JSON.stringify(opts)],
    watch,
    opts.seconds + opts.warmupS + 60,
  );

/** Closed-loop steps: one per concurrency, `seconds` counted after `warmupS`. */
export interface ClosedStepsOptions {
  concurrencies?: number[];
  seconds?: number;
  warmupS?: number;
  progress?: (line: string) => void;
}

export async function benchNodeCeiling(opts: ClosedStepsOptions = {}): Promise<NodeFigure> {
  const concurrencies = opts.concurrencies ?? [1, 4, 16, 64, 128, 256];
  const seconds = opts.seconds ?? 10;
  const warmupS = opts.warmupS ?? 1;
  const loadAverageBefore = loadavg()[0]!;
  const runDir = mkdtempSync(join(tmpdir(), "posstorm-bench-node-"));
  const lab = await startLab({ runtime: "containers", runDir, session: `bench-node-${Date.now()}` });
  const watch = new ProcessWatch({ labDir: runDir });
  const steps: NodeStep[] = [];
  let attempts = 0;
  try {
    await new Promise((r) => setTimeout(r, 500)); // issuer and HSM links up
    for (const concurrency of concurrencies) {
      const othersBefore = await waitForQuiet({ progress: opts.progress, timeoutMs: 60_000 });
      const r = await runClientProcess(
        { ...lab.edge, concurrency, seconds, warmupS, terminals: 10_000 },
        watch,
      );
      watch.tick();
      attempts += r.attempts;
      const elapsed = (r.endMs - r.startMs) / 1000;
      const cpuSeconds: Record<string, number> = { "node client": r.cpuSeconds };
      for (const p of watch.figures({ startMs: r.startMs, endMs: r.endMs }))
        if (p.role !== "node client") cpuSeconds[p.role] = p.windowCpuSeconds;
      const approvedRatio = r.signIns > 0 ? r.approved / r.signIns : 0;
      const step: NodeStep = {
        concurrency,
        seconds: elapsed,
        signIns: r.signIns,
        approved: r.approved,
        failures: r.failures,
        perSecond: r.signIns / elapsed,
        approvedRatio,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        clientCores: r.cpuSeconds / elapsed,
        cpuSeconds,
        machine: watch.machine({ startMs: r.startMs, endMs: r.endMs }),
        othersBefore,
        ...(r.priority ? { priority: r.priority } : {}),
        passed: approvedRatio >= PASS_APPROVED_RATIO,
      };
      steps.push(step);
      opts.progress?.(
        `node concurrency ${concurrency}: ${step.perSecond.toFixed(0)} sign-ins/s, approved ` +
          `${(approvedRatio * 100).toFixed(2)}%, p99 ${step.p99Ms.toFixed(1)} ms; cores ${Object.entries(
            cpuSeconds,
          )
            .map(([role, s]) => `${role} ${(s / elapsed).toFixed(2)}`)
            .join(", ")}`,
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    watch.stop();
    await lab.stop();
  }
  const best = steps.filter((s) => s.passed).sort((a, b) => b.perSecond - a.perSecond)[0];
  const log = readText(join(runDir, "logs", "toxiproxy.log"));
  return {
    steps,
    maxPerSecond: best?.perSecond ?? 0,
    maxAtConcurrency: best?.concurrency ?? 0,
    loadAverageBefore,
    loadAverageMax: watch.loadAverageMax,
    toxiproxyLogLevel: toxiproxyLogLevel(),
    toxiproxyLog: {
      bytesPerSignIn: attempts > 0 ? Buffer.byteLength(log) / attempts : 0,
      linesPerSignIn: attempts > 0 ? log.split("\n").filter(Boolean).length / attempts : 0,
    },
  };
}

if (process.argv[1] === THIS_FILE) {
  if (process.argv[2] === "client") {
    // the client's thread at the fleet's threads' priority (like with like: harness/fleet/thread-priority.ts)
    const priority = raiseThreadPriority();
    const result = await nodeClient(JSON.parse(process.argv[3]!) as ClientOptions);
    process.stdout.write(`${JSON.stringify({ ...result, priority })}\n`);
  } else {
    const figure = await benchNodeCeiling({ progress: (line) => console.error(line) });
    console.log(JSON.stringify(figure, null, 2));
  }
}
