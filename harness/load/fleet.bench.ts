import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runProfile } from "../cli/run/run-profile.ts";
import type { Outcome } from "../k6/plan.ts";
import { startLab } from "../lab/lab.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { TestTerminal } from "../sim/switch/testing/terminal.ts";
import type { OutcomeCounts } from "./fleet.ts";

// Fleet benchmarks: the terminal fleet in k6 against the whole lab (containers), and a minimal Node client
// against the same lab as the ceiling.
//
// - benchStorm: a population profile end to end (`runProfile`, as `posstorm run` does), every lab program and
//   k6 watched through /proc once a second (CPU time, RSS, the kernel's peak RSS);
// - benchFleetRate: open-model sign-ins at increasing constant rates, one short run each (a temporary profile
//   per rate), reading k6's dropped_iterations and the outcomes;
// - benchNodeCeiling: TestTerminal sign-ins (a new connection each) from N concurrent loops in a Node process
//   of their own.
//
//   node harness/load/fleet.bench.ts storm|rate|node

const CLOCK_TICKS_PER_SECOND = 100;
const PAGE_KIB = 4;

/** Lab programs as their processes' command lines name them (containers run them as host processes). */
const LAB_PROGRAMS: { pattern: RegExp; program: string }[] = [
  { pattern: /\/app\/switch\.mjs/, program: "switch" },
  { pattern: /\/app\/hsm\.mjs/, program: "hsm" },
  { pattern: /\/app\/issuer\.mjs/, program: "issuer" },
  { pattern: /toxiproxy-server/, program: "toxiproxy" },
];

interface Sample {
  t: number;
  cpuS: number;
  rssKib: number;
}

interface Watched {
  role: string;
  pid: number;
  samples: Sample[];
  /** Largest VmHWM read (the kernel's peak resident set). */
  hwmKib: number;
}

/** One watched process over a run. */
export interface ProcessFigure {
  role: string;
  /** The first process of the role, and how many there were. */
  pid: number;
  processes: number;
  /** CPU time since the process started, at its last sample. */
  cpuSeconds: number;
  /** CPU time inside the window, and the window's length. */
  windowCpuSeconds: number;
  windowSeconds: number;
  /** windowCpuSeconds / windowSeconds. */
  averageCores: number;
  /** Largest CPU rate between two consecutive samples (about 1 s apart). */
  peakCores: number;
  peakRssMiB: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

function readStat(pid: number): { cpuS: number; rssKib: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
      rssKib: Number(fields[21]) * PAGE_KIB,
    };
  } catch {
    return undefined;
  }
}

function readHwmKib(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const readText = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

/** Busy CPU seconds of the whole machine since boot (every core; idle and iowait left out). */
function machineBusySeconds(): number | undefined {
  const first = readText("/proc/stat").split("\n")[0];
  if (!first?.startsWith("cpu ")) return undefined;
  const [user, nice, system, , , irq, softirq, steal] = first.trim().split(/\s+/).slice(1).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    CLOCK_TICKS_PER_SECOND
  );
}

/** The machine's busy cores over `ms` (every process, /proc/stat). */
export async function machineBusyCores(ms = 2_000): Promise<number> {
  const a = machineBusySeconds() ?? 0;
  const t = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((machineBusySeconds() ?? 0) - a) / ((Date.now() - t) / 1000);
}

/**
 * Waits (up to `timeoutMs`) until the machine, with nothing of the bench running, is busy less than `maxCores`
 * over 2 s: other people's tests share this machine. Returns the last busy figure.
 */
export async function waitForQuiet(
  opts: { maxCores?: number; timeoutMs?: number; progress?: (line: string) => void } = {},
): Promise<number> {
  const maxCores = opts.maxCores ?? 0.3;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let busy = await machineBusyCores();
  let said = false;
  while (busy > maxCores && Date.now() < deadline) {
    if (!said) opts.progress?.(`waiting for a quieter machine: ${busy.toFixed(2)} cores busy …`);
    said = true;
    await new Promise((r) => setTimeout(r, 3_000));
    busy = await machineBusyCores();
  }
  return busy;
}

/** CPU seconds of this process's waited-for children (k6 is one once it has exited). */
export function childrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Watches processes once a second: the k6 process whose command line contains `k6Marker` (the run folder: k6
 * gets the plan's path); the lab programs of the lab whose lab.json is found under `labDir` (a run folder, or a
 * folder of run folders): a process counts when its command line names a lab program and its cgroup names one
 * of that lab's containers, so other labs on the machine are left out; that lab's containerd shims (they carry
 * the containers' stdout); the Docker engine (shared by every container on the machine); this process
 * (`harness`); and any pid given to {@link ProcessWatch.add}. Processes of one role are added up.
 */
export class ProcessWatch {
  readonly #watched = new Map<number, Watched>();
  readonly #extra = new Map<number, string>();
  readonly #timer: NodeJS.Timeout;
  /** Highest 1-minute load average seen. */
  loadAverageMax = 0;
  /** The whole machine's busy CPU seconds (all cores, /proc/stat), per tick. */
  readonly #machine: Sample[] = [];
  #containers: Map<string, string> | undefined;
  readonly opts: { labDir: string; k6Marker?: string; intervalMs?: number };

  constructor(opts: { labDir: string; k6Marker?: string; intervalMs?: number }) {
    this.opts = opts;
    this.tick();
    this.#timer = setInterval(() => this.tick(), opts.intervalMs ?? 1_000);
  }

  /** Watches one more process under a role. */
  add(pid: number, role: string): void {
    this.#extra.set(pid, role);
  }

  /** Container id → lab role, from lab.json once the lab has written it. */
  #labContainers(): Map<string, string> | undefined {
    if (this.#containers) return this.#containers;
    const candidates = [this.opts.labDir];
    try {
      for (const entry of readdirSync(this.opts.labDir, { withFileTypes: true }))
        if (entry.isDirectory()) candidates.push(join(this.opts.labDir, entry.name));
    } catch {
      return undefined;
    }
    for (const dir of candidates) {
      const file = join(dir, "lab.json");
      if (!existsSync(file)) continue;
      const lab = JSON.parse(readFileSync(file, "utf8")) as { services: { role: string; id: string }[] };
      this.#containers = new Map(lab.services.map((s) => [s.id, s.role]));
      return this.#containers;
    }
    return undefined;
  }

  #classify(pid: number): string | undefined {
    const extra = this.#extra.get(pid);
    if (extra) return extra;
    if (pid === process.pid) return "harness";
    const argv = readText(`/proc/${pid}/cmdline`).split("\0");
    const line = argv.join(" ");
    const program = argv[0]?.split("/").at(-1);
    if (this.opts.k6Marker && program === "k6" && argv[1] === "run" && line.includes(this.opts.k6Marker))
      return "k6";
    if (program === "dockerd") return "dockerd";
    const containers = this.#labContainers();
    if (!containers) return undefined;
    if (program?.startsWith("containerd-shim")) {
      const id = argv[argv.indexOf("-id") + 1];
      return id && containers.has(id) ? "containerd-shim" : undefined;
    }
    if (!LAB_PROGRAMS.some(({ pattern }) => pattern.test(line))) return undefined;
    const cgroup = readText(`/proc/${pid}/cgroup`);
    for (const [id, role] of containers) if (cgroup.includes(id)) return role;
    return undefined;
  }

  tick(): void {
    const now = Date.now();
    this.loadAverageMax = Math.max(this.loadAverageMax, loadavg()[0]!);
    const busy = machineBusySeconds();
    if (busy !== undefined) this.#machine.push({ t: now, cpuS: busy, rssKib: 0 });
    let pids: number[];
    try {
      pids = readdirSync("/proc")
        .filter((name) => /^\d+$/.test(name))
        .map(Number);
    } catch {
      return;
    }
    for (const pid of pids) {
      let w = this.#watched.get(pid);
      if (!w) {
        const role = this.#classify(pid);
        if (!role) continue;
        w = { role, pid, samples: [], hwmKib: 0 };
        this.#watched.set(pid, w);
      }
      const stat = readStat(pid);
      if (!stat) continue;
      w.samples.push({ t: now, ...stat });
      w.hwmKib = Math.max(w.hwmKib, readHwmKib(pid), stat.rssKib);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** When a role was last seen (ms), e.g. when k6 exited. */
  lastSeen(role: string): number | undefined {
    const seen = [...this.#watched.values()]
      .filter((w) => w.role === role && w.samples.length > 0)
      .map((w) => w.samples.at(-1)!.t);
    return seen.length ? Math.max(...seen) : undefined;
  }

  /**
   * The machine's busy cores in a window (all of /proc/stat but idle and iowait), and what of it the watched
   * processes do not account for: other people's work, the kernel's own threads.
   */
  machine(window: { startMs: number; endMs: number }): { busyCores: number; otherCores: number } {
    const m = this.#machine;
    if (m.length < 2) return { busyCores: 0, otherCores: 0 };
    const from = Math.max(window.startMs, m[0]!.t);
    const to = Math.min(window.endMs, m.at(-1)!.t);
    if (to <= from) return { busyCores: 0, otherCores: 0 };
    const busyCores = (cpuAt(m, to) - cpuAt(m, from)) / ((to - from) / 1000);
    const watched = this.figures({ startMs: from, endMs: to }).reduce((sum, p) => sum + p.averageCores, 0);
    return { busyCores, otherCores: Math.max(0, busyCores - watched) };
  }

  /** Per role (its processes added up); the window defaults to the role's first and last sample. */
  figures(window?: { startMs: number; endMs: number }): ProcessFigure[] {
    const groups = new Map<string, Watched[]>();
    for (const w of this.#watched.values()) {
      if (w.samples.length === 0) continue;
      groups.set(w.role, [...(groups.get(w.role) ?? []), w]);
    }
    return [...groups]
      .map(([role, members]) => {
        // Each process's CPU clamped to its first and last sample: no step when one starts or exits.
        const at = (t: number) => members.reduce((sum, w) => sum + cpuAt(w.samples, t), 0);
        const times = [...new Set(members.flatMap((w) => w.samples.map((x) => x.t)))].sort((a, b) => a - b);
        const first = times[0]!;
        const last = times.at(-1)!;
        const startMs = window?.startMs ?? first;
        const endMs = window?.endMs ?? last;
        const from = Math.max(startMs, first);
        const to = Math.min(endMs, last);
        const windowCpuSeconds = to > from ? at(to) - at(from) : 0;
        const windowSeconds = Math.max(0, (endMs - startMs) / 1000);
        let peakCores = 0;
        let previous = { t: first, cpu: at(first) };
        for (const t of times.slice(1)) {
          const cpu = at(t);
          const dt = (t - previous.t) / 1000;
          if (dt >= 0.5) {
            peakCores = Math.max(peakCores, (cpu - previous.cpu) / dt);
            previous = { t, cpu };
          }
        }
        return {
          role,
          pid: members[0]!.pid,
          processes: members.length,
          cpuSeconds: members.reduce((sum, w) => sum + w.samples.at(-1)!.cpuS, 0),
          windowCpuSeconds,
          windowSeconds,
          averageCores: windowSeconds > 0 ? windowCpuSeconds / windowSeconds : 0,
          peakCores,
          peakRssMiB: members.reduce((sum, w) => sum + w.hwmKib, 0) / 1024,
          firstSeenMs: first,
          lastSeenMs: last,
        };
      })
      .sort((a, b) => roleOrder(a.role) - roleOrder(b.role) || a.role.localeCompare(b.role));
  }
}

const ROLE_ORDER = [
  "k6",
  "node client",
  "switch",
  "hsm",
  "issuer",
  "toxiproxy",
  "containerd-shim",
  "dockerd",
];
const roleOrder = (role: string) => {
  const i = ROLE_ORDER.findIndex((r) => role.startsWith(r));
  return i < 0 ? ROLE_ORDER.length : i;
};

/** CPU seconds at time t, linear between samples, clamped to the first and last. */
function cpuAt(samples: Sample[], t: number): number {
  if (t <= samples[0]!.t) return samples[0]!.cpuS;
  for (let i = 1; i < samples.length; i++) {
    const b = samples[i]!;
    if (t <= b.t) {
      const a = samples[i - 1]!;
      return a.cpuS + ((b.cpuS - a.cpuS) * (t - a.t)) / Math.max(1, b.t - a.t);
    }
  }
  return samples.at(-1)!.cpuS;
}

/** Writes a profile as a TypeScript file in a fresh folder under the temporary directory. */
export function writeTempProfile(name: string, profile: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), `posstorm-bench-${name}-`));
  const file = join(dir, `${name}.ts`);
  const define = JSON.stringify(join(REPO_ROOT, "harness/profile/define.ts"));
  writeFileSync(
    file,
    `import { defineProfile } from ${define};\nexport default defineProfile(${JSON.stringify(profile, null, 2)} as never);\n`,
  );
  return file;
}

interface RunJson {
  status: string;
  error?: string;
  startedAt: string;
  endedAt?: string;
  loadStartedAt?: string;
  firstSampleAt?: string;
  outcomes?: OutcomeCounts;
  k6?: { exitCode: number };
  versions?: Record<string, string>;
}

type RawSummary = { metrics: Record<string, Record<string, number>> };

/** A profile run end to end with its processes watched. */
export interface WatchedRun {
  profile: string;
  status: string;
  error?: string;
  runDir: string;
  k6ExitCode?: number;
  k6Version?: string;
  outcomes?: OutcomeCounts;
  summary?: RawSummary;
  /** Whole run (lab up to lab down), load (k6 launched to k6 gone), seconds. */
  runSeconds: number;
  loadSeconds: number;
  /** k6 launched → first metric sample (VU initialisation), seconds. */
  k6StartSeconds?: number;
  /** Per role, the window being the load (k6 launched → k6 gone). */
  processes: ProcessFigure[];
  /** Per role, CPU from its first to its last sample (lab up → lab down for the lab, the run for the engine). */
  processesWholeRun: ProcessFigure[];
  /** k6's CPU from the kernel's accounting of this process's exited children (k6 and a few short commands). */
  k6ChildCpuSeconds: number;
  /** k6's CPU after its first metric sample (the load itself, VU initialisation left out). */
  k6SteadyCpuSeconds?: number;
  k6SteadySeconds?: number;
  loadAverageBefore: number;
  loadAverageAfter: number;
  /** Highest 1-minute load average sampled during the run. */
  loadAverageMax: number;
  /** The machine's busy cores during the load, and the part no watched process accounts for. */
  machine: { busyCores: number; otherCores: number };
  log: string[];
}

export async function runWatched(
  profile: string,
  opts: { progress?: (line: string) => void; progressEvery?: number } = {},
): Promise<WatchedRun> {
  const reportsDir = mkdtempSync(join(tmpdir(), "posstorm-bench-run-"));
  const loadAverageBefore = loadavg()[0]!;
  const watch = new ProcessWatch({ labDir: reportsDir, k6Marker: reportsDir });
  const log: string[] = [];
  let lines = 0;
  const children0 = childrenCpuSeconds();
  const t0 = Date.now();
  let outcome: Awaited<ReturnType<typeof runProfile>>;
  try {
    outcome = await runProfile({
      profile,
      reportsDir,
      live: true,
      log: (line) => {
        log.push(line);
        const every = opts.progressEvery ?? 0;
        if (opts.progress && (every <= 1 || !/^\s*\d+s\//.test(line) || lines++ % every === 0))
          opts.progress(line);
      },
    });
  } finally {
    watch.tick();
    watch.stop();
  }
  const runSeconds = (Date.now() - t0) / 1000;
  const k6ChildCpuSeconds = childrenCpuSeconds() - children0;
  writeFileSync(join(outcome.runDir, "bench.log"), `${log.join("\n")}\n`);
  const run = JSON.parse(readFileSync(join(outcome.runDir, "run.json"), "utf8")) as RunJson;
  const summaryFile = join(outcome.runDir, "k6-summary.json");
  const summary = existsSync(summaryFile)
    ? (JSON.parse(readFileSync(summaryFile, "utf8")) as RawSummary)
    : undefined;
  const loadStart = run.loadStartedAt ? Date.parse(run.loadStartedAt) : t0;
  const loadEnd = watch.lastSeen("k6") ?? Date.now();
  const processes = watch.figures({ startMs: loadStart, endMs: loadEnd });
  const k6 = processes.find((p) => p.role === "k6");
  let k6SteadyCpuSeconds: number | undefined;
  let k6SteadySeconds: number | undefined;
  if (run.firstSampleAt) {
    const first = Date.parse(run.firstSampleAt);
    const steady = watch.figures({ startMs: first, endMs: loadEnd }).find((p) => p.role === "k6");
    k6SteadyCpuSeconds = steady?.windowCpuSeconds;
    k6SteadySeconds = steady?.windowSeconds;
  }
  return {
    profile,
    status: run.status,
    error: run.error ?? outcome.error,
    runDir: outcome.runDir,
    k6ExitCode: run.k6?.exitCode,
    k6Version: run.versions?.k6,
    outcomes: run.outcomes,
    summary,
    runSeconds,
    loadSeconds: (loadEnd - loadStart) / 1000,
    k6StartSeconds: run.firstSampleAt ? (Date.parse(run.firstSampleAt) - loadStart) / 1000 : undefined,
    processes,
    processesWholeRun: watch.figures(),
    // The sampled figure misses at most the last second of k6; the kernel's is exact when k6 was waited for.
    k6ChildCpuSeconds: Math.max(k6ChildCpuSeconds, k6?.cpuSeconds ?? 0),
    k6SteadyCpuSeconds,
    k6SteadySeconds,
    loadAverageBefore,
    loadAverageAfter: loadavg()[0]!,
    loadAverageMax: watch.loadAverageMax,
    machine: watch.machine({ startMs: loadStart, endMs: loadEnd }),
    log,
  };
}

// ---------------------------------------------------------------------------------------------------------
// 1. The storm.

export interface StormFigure extends WatchedRun {
  terminals: number;
  /** Peak k6 RSS / terminals, KiB. */
  k6KiBPerTerminal?: number;
  /** The switch's own latency (request in → reply out) by MTI, from its final /metrics histogram. */
  switchLatencyMs: Record<string, { p50: number; p99: number }>;
}

/** Quantile of a Prometheus histogram (linear inside the bucket, as histogram_quantile does). */
export function histogramQuantile(buckets: { le: number; count: number }[], q: number): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total === 0) return 0;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return previous.le;
      const inBucket = bucket.count - previous.count;
      return previous.le + ((bucket.le - previous.le) * (rank - previous.count)) / Math.max(1, inBucket);
    }
    previous = bucket;
  }
  return previous.le;
}

/** p50 and p99 of `switch_latency_seconds` by MTI from a run's collected/switch.metrics.prom, ms. */
export function switchLatency(runDir: string): Record<string, { p50: number; p99: number }> {
  const byMti = new Map<string, { le: number; count: number }[]>();
  for (const line of readText(join(runDir, "collected", "switch.metrics.prom")).split("\n")) {
    const m = /^switch_latency_seconds_bucket\{mti="(\w+)",le="([^"]+)"\} (\S+)$/.exec(line);
    if (!m) continue;
    const list = byMti.get(m[1]!) ?? [];
    list.push({ le: m[2] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[2]), count: Number(m[3]) });
    byMti.set(m[1]!, list);
  }
  return Object.fromEntries(
    [...byMti].map(([mti, buckets]) => [
      mti,
      { p50: histogramQuantile(buckets, 0.5) * 1000, p99: histogramQuantile(buckets, 0.99) * 1000 },
    ]),
  );
}

/** Runs a population profile (default morning-signin-storm) end to end with its processes watched. */
export async function benchStorm(
  opts: { profile?: string; progress?: (line: string) => void } = {},
): Promise<StormFigure> {
  const profile = opts.profile ?? "morning-signin-storm";
  const run = await runWatched(profile, { progress: opts.progress, progressEvery: 30 });
  const plan = JSON.parse(readText(join(run.runDir, "plan.json")) || "{}") as {
    fleet?: { terminals?: number };
  };
  const terminals = plan.fleet?.terminals ?? 0;
  const k6 = run.processes.find((p) => p.role === "k6");
  return {
    ...run,
    terminals,
    k6KiBPerTerminal: k6 && terminals > 0 ? (k6.peakRssMiB * 1024) / terminals : undefined,
    switchLatencyMs: switchLatency(run.runDir),
  };
}

// ---------------------------------------------------------------------------------------------------------
// 2. The highest constant sign-in rate k6 sustains through the lab.

export interface RateStep {
  ratePerS: number;
  durationS: number;
  status: string;
  error?: string;
  /** Sign-ins k6 made (every outcome). */
  signIns: number;
  approved: number;
  /** Outcomes other than approved, by name (only those seen). */
  others: Partial<Record<Outcome, number>>;
  approvedRatio: number;
  achievedPerS: number;
  droppedIterations: number;
  vusMax: number;
  p50Ms?: number;
  p99Ms?: number;
  /** k6 CPU after its first sample (VU initialisation left out), and the cores that makes. */
  k6SteadyCpuSeconds: number;
  k6SteadyCores: number;
  k6PeakCores: number;
  k6TotalCpuSeconds: number;
  k6PeakRssMiB: number;
  /** k6 steady CPU seconds per 1,000 sign-ins = k6 cores per 1,000 sign-ins/s. */
  k6CoresPer1000: number;
  /** Average cores during the load by lab role. */
  labCores: Record<string, number>;
  passed: boolean;
  loadAverageBefore: number;
  loadAverageMax: number;
  /** Machine busy cores during the load, and those of processes outside the run. */
  machine: { busyCores: number; otherCores: number };
  /** The machine's busy cores just before the step (nothing of the bench running): other people's work. */
  othersBefore?: number;
  runDir: string;
}

export interface RateFigure {
  steps: RateStep[];
  /** Highest rate with 0 dropped iterations and at least 99.9% approved (0 when none passed). */
  maxRatePerS: number;
  k6Version?: string;
}

export const PASS_APPROVED_RATIO = 0.999;

/** Open-model sign-in profile at one constant rate; VUs: one second's worth, all initialised before the load. */
export function rateProfile(ratePerS: number, durationS: number): Record<string, unknown> {
  return {
    name: `bench-signin-${ratePerS}`,
    description: `open model, ${ratePerS} sign-ins/s for ${durationS} s`,
    durationS,
    lab: { runtime: "containers" },
    terminal: {
      connectTimeoutMs: 5_000,
      responseTimeoutMs: 5_000,
      idleTimeoutMs: 5_000,
      retry: { policy: "none" },
    },
    fleet: {
      model: "open",
      operation: "signin",
      stages: [{ durationS, ratePerS }],
      preAllocatedVUs: Math.max(50, ratePerS),
      maxVUs: Math.max(50, ratePerS),
      terminals: 10_000,
    },
  };
}

export async function benchRateStep(
  ratePerS: number,
  durationS: number,
  progress?: (line: string) => void,
): Promise<RateStep> {
  const file = writeTempProfile(`signin-${ratePerS}`, rateProfile(ratePerS, durationS));
  const run = await runWatched(file, { progress, progressEvery: 10 });
  const o = run.outcomes;
  const signIns = o?.total.signin ?? 0;
  const approved = o?.byOutcome.signin.approved ?? 0;
  const others = Object.fromEntries(
    Object.entries(o?.byOutcome.signin ?? {}).filter(([k, n]) => k !== "approved" && n > 0),
  ) as Partial<Record<Outcome, number>>;
  const metric = (name: string) => run.summary?.metrics[name];
  const droppedIterations = metric("dropped_iterations")?.count ?? 0;
  const duration = metric("pos_op_duration{op:signin}") ?? metric("pos_op_duration");
  const k6 = run.processes.find((p) => p.role === "k6");
  const steadyCpu = run.k6SteadyCpuSeconds ?? 0;
  const approvedRatio = signIns > 0 ? approved / signIns : 0;
  const labCores: Record<string, number> = {};
  for (const p of run.processes) if (p.role !== "k6") labCores[p.role] = p.averageCores;
  return {
    ratePerS,
    durationS,
    status: run.status,
    error: run.error,
    signIns,
    approved,
    others,
    approvedRatio,
    achievedPerS: signIns / durationS,
    droppedIterations,
    vusMax: metric("vus_max")?.max ?? metric("vus_max")?.value ?? 0,
    p50Ms: duration?.med,
    p99Ms: duration?.["p(99)"],
    k6SteadyCpuSeconds: steadyCpu,
    k6SteadyCores: run.k6SteadySeconds ? steadyCpu / run.k6SteadySeconds : 0,
    k6PeakCores: k6?.peakCores ?? 0,
    k6TotalCpuSeconds: run.k6ChildCpuSeconds,
    k6PeakRssMiB: k6?.peakRssMiB ?? 0,
    k6CoresPer1000: signIns > 0 ? (steadyCpu / signIns) * 1000 : 0,
    labCores,
    passed:
      run.status === "completed" &&
      droppedIterations === 0 &&
      signIns >= ratePerS * durationS * 0.99 &&
      approvedRatio >= PASS_APPROVED_RATIO,
    loadAverageBefore: run.loadAverageBefore,
    loadAverageMax: run.loadAverageMax,
    machine: run.machine,
    runDir: run.runDir,
  };
}

/**
 * Doubles the rate from the first one until a step fails (or `maxRatePerS`), then tries once halfway
 * between the last pass and the first failure.
 */
export async function benchFleetRate(
  opts: {
    rates?: number[];
    durationS?: number;
    maxRatePerS?: number;
    progress?: (line: string) => void;
  } = {},
): Promise<RateFigure> {
  const durationS = opts.durationS ?? 20;
  const rates = opts.rates ?? [50, 100, 200, 400, 800, 1600, 3200];
  const steps: RateStep[] = [];
  let lastPass = 0;
  let firstFail: number | undefined;
  for (const rate of rates) {
    if (opts.maxRatePerS && rate > opts.maxRatePerS) break;
    const quiet = await waitForQuiet({ progress: opts.progress });
    opts.progress?.(
      `rate ${rate}/s (load average ${loadavg()[0]!.toFixed(2)}, others ${quiet.toFixed(2)} cores) …`,
    );
    const step = await benchRateStep(rate, durationS);
    step.othersBefore = quiet;
    steps.push(step);
    opts.progress?.(describeStep(step));
    if (!step.passed) {
      firstFail = rate;
      break;
    }
    lastPass = rate;
  }
  // Two halvings between the last pass and the first failure (to 25/s).
  for (let i = 0; i < 2 && firstFail !== undefined && lastPass > 0 && firstFail - lastPass >= 50; i++) {
    const rate = Math.round((lastPass + firstFail) / 2 / 25) * 25;
    if (rate <= lastPass || rate >= firstFail) break;
    const quiet = await waitForQuiet({ progress: opts.progress });
    opts.progress?.(
      `rate ${rate}/s (between ${lastPass} and ${firstFail}; others ${quiet.toFixed(2)} cores) …`,
    );
    const step = await benchRateStep(rate, durationS);
    step.othersBefore = quiet;
    steps.push(step);
    opts.progress?.(describeStep(step));
    if (step.passed) lastPass = rate;
    else firstFail = rate;
  }
  return { steps, maxRatePerS: lastPass, k6Version: readVersion(steps) };
}

function readVersion(steps: RateStep[]): string | undefined {
  for (const step of steps) {
    const run = JSON.parse(readText(join(step.runDir, "run.json")) || "{}") as RunJson;
    if (run.versions?.k6) return run.versions.k6;
  }
  return undefined;
}

export function describeStep(s: RateStep): string {
  return (
    `rate ${s.ratePerS}/s: ${s.status}, ${s.signIns} sign-ins (${s.achievedPerS.toFixed(0)}/s), approved ` +
    `${(s.approvedRatio * 100).toFixed(2)}%, dropped ${s.droppedIterations}, VUs ${s.vusMax}, p99 ` +
    `${s.p99Ms?.toFixed(1)} ms, k6 ${s.k6SteadyCores.toFixed(2)} cores (peak ${s.k6PeakCores.toFixed(2)}), ` +
    `${s.k6CoresPer1000.toFixed(2)} cores per 1,000/s${s.passed ? "" : " FAILED"}${s.error ? ` (${s.error})` : ""}`
  );
}

// ---------------------------------------------------------------------------------------------------------
// 3. The ceiling: a minimal Node client (TestTerminal, a new connection per sign-in) against the same lab.

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
  /** The client process's CPU per 1,000 sign-ins/s (cores). */
  clientCoresPer1000: number;
  clientCores: number;
  /** Average cores during the step by role (lab programs, shims, Docker engine, harness). */
  labCores: Record<string, number>;
  /** Machine busy cores during the step, and those of processes outside the bench. */
  machine: { busyCores: number; otherCores: number };
  /** The machine's busy cores just before the step (the lab idle): other people's work. */
  othersBefore: number;
  passed: boolean;
}

export interface NodeFigure {
  steps: NodeStep[];
  /** Highest sign-ins/s of a step with at least 99.9% approved. */
  maxPerSecond: number;
  maxAtConcurrency: number;
  loadAverageBefore: number;
  loadAverageMax: number;
  /** Toxiproxy's log (it logs every proxied connection): bytes and lines per sign-in over the whole bench. */
  toxiproxyLog: { bytesPerSignIn: number; linesPerSignIn: number };
}

const percentile = (sorted: number[], q: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

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

/** Runs {@link nodeClient} in a child process of its own (so its CPU is the client's alone). */
function runClientProcess(opts: ClientOptions, watch: ProcessWatch): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [THIS_FILE, "client", JSON.stringify(opts)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (child.pid) watch.add(child.pid, "node client");
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (opts.seconds + opts.warmupS + 60) * 1000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`node client exited ${code}: ${out.slice(-300)}`));
      else resolve(JSON.parse(out) as ClientResult);
    });
  });
}

export async function benchNodeCeiling(
  opts: {
    concurrencies?: number[];
    seconds?: number;
    warmupS?: number;
    progress?: (line: string) => void;
  } = {},
): Promise<NodeFigure> {
  const concurrencies = opts.concurrencies ?? [1, 2, 4, 8, 16, 32, 64, 128];
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
      const othersBefore = await waitForQuiet({ progress: opts.progress });
      const r = await runClientProcess(
        { ...lab.edge, concurrency, seconds, warmupS, terminals: 10_000 },
        watch,
      );
      watch.tick();
      attempts += r.attempts;
      const elapsed = (r.endMs - r.startMs) / 1000;
      const labCores: Record<string, number> = {};
      for (const p of watch.figures({ startMs: r.startMs, endMs: r.endMs }))
        if (p.role !== "node client") labCores[p.role] = p.averageCores;
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
        clientCoresPer1000: r.signIns > 0 ? (r.cpuSeconds / r.signIns) * 1000 : 0,
        labCores,
        machine: watch.machine({ startMs: r.startMs, endMs: r.endMs }),
        othersBefore,
        passed: approvedRatio >= PASS_APPROVED_RATIO,
      };
      steps.push(step);
      opts.progress?.(
        `node concurrency ${concurrency}: ${step.perSecond.toFixed(0)} sign-ins/s, approved ` +
          `${(approvedRatio * 100).toFixed(2)}%, p99 ${step.p99Ms.toFixed(1)} ms, client ${step.clientCores.toFixed(2)} ` +
          `cores, ${Object.entries(labCores)
            .map(([role, c]) => `${role} ${c.toFixed(2)}`)
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
    toxiproxyLog: {
      bytesPerSignIn: attempts > 0 ? Buffer.byteLength(log) / attempts : 0,
      linesPerSignIn: attempts > 0 ? log.split("\n").length / attempts : 0,
    },
  };
}

if (process.argv[1] === THIS_FILE) {
  const which = process.argv[2] ?? "rate";
  if (which === "client") {
    const result = await nodeClient(JSON.parse(process.argv[3]!) as ClientOptions);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const progress = (line: string) => console.error(line);
    const figure =
      which === "storm"
        ? await benchStorm({ profile: process.argv[3], progress })
        : which === "node"
          ? await benchNodeCeiling({ progress })
          : await benchFleetRate({ progress });
    console.log(JSON.stringify(figure, (k, v) => (k === "log" ? undefined : v), 2));
  }
}
