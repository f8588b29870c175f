import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { hasRunFile, readLabJson } from "../harness/run-folder/index.ts";

// Every program of a benchmark watched through /proc once a second: the lab programs (the containers'
// `/app/*.mjs` and `toxiproxy-server` run as host processes), the lab's containerd shims, the Docker engine,
// this process (`harness`: since the fleet engine runs in it, the fleet's worker threads are part of it) and any
// pid added by hand (the Node ceiling's client). Plus the whole machine's busy CPU, to tell how much other
// people's work took while a figure was measured.

const CLOCK_TICKS_PER_SECOND = 100;
const PAGE_KIB = 4;

/** Lab programs as their processes' command lines name them (containers run them as host processes). */
const LAB_PROGRAMS: RegExp[] = [
  /\/app\/switch\.mjs/,
  /\/app\/hsm\.mjs/,
  /\/app\/issuer\.mjs/,
  /toxiproxy-server/,
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

/** One role (its processes added up) over a window. */
export interface ProcessFigure {
  role: string;
  /** The first process of the role, and how many there were. */
  pid: number;
  processes: number;
  /** CPU time inside the window, and the window's length. */
  windowCpuSeconds: number;
  windowSeconds: number;
  /** windowCpuSeconds / windowSeconds. */
  averageCores: number;
  /** Largest CPU rate between two consecutive samples (about 1 s apart). */
  peakCores: number;
  peakRssMiB: number;
  /** Resident set at the first and last sample, MiB. */
  firstRssMiB: number;
  lastRssMiB: number;
}

export const readText = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

export function readStat(pid: number): { cpuS: number; rssKib: number } | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
    rssKib: Number(fields[21]) * PAGE_KIB,
  };
}

const readHwmKib = (pid: number) =>
  Number(/^VmHWM:\s+(\d+) kB/m.exec(readText(`/proc/${pid}/status`))?.[1] ?? 0);

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

/**
 * Watches processes once a second: the lab programs of the lab whose lab.json is found under `labDir` (a run
 * folder, or a folder of run folders): a process counts when its command line names a lab program and its
 * cgroup names one of that lab's containers, so other labs on the machine are left out; that lab's containerd
 * shims (they carry the containers' stdout); the Docker engine (shared by every container on the machine);
 * this process (`harness`, CPU from process.cpuUsage(): every thread of it, fleet workers included); and any
 * pid given to {@link ProcessWatch.add}. Processes of one role are added up.
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
  readonly labDir: string;

  constructor(opts: { labDir: string; intervalMs?: number }) {
    this.labDir = opts.labDir;
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
    const candidates = [this.labDir];
    try {
      for (const entry of readdirSync(this.labDir, { withFileTypes: true }))
        if (entry.isDirectory()) candidates.push(join(this.labDir, entry.name));
    } catch {
      return undefined;
    }
    for (const dir of candidates) {
      if (!hasRunFile(dir, "lab")) continue;
      const lab = readLabJson(dir);
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
    if (program === "dockerd") return "dockerd";
    const containers = this.#labContainers();
    if (!containers) return undefined;
    if (program?.startsWith("containerd-shim")) {
      const id = argv[argv.indexOf("-id") + 1];
      return id && containers.has(id) ? "containerd-shim" : undefined;
    }
    if (!LAB_PROGRAMS.some((pattern) => pattern.test(line))) return undefined;
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
      if (pid === process.pid) {
        const cpu = process.cpuUsage();
        stat.cpuS = (cpu.user + cpu.system) / 1e6;
      }
      w.samples.push({ t: now, ...stat });
      w.hwmKib = Math.max(w.hwmKib, readHwmKib(pid), stat.rssKib);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
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
        const rssAt = (pick: (s: Sample[]) => Sample | undefined) =>
          members.reduce((sum, w) => sum + (pick(w.samples)?.rssKib ?? 0), 0) / 1024;
        return {
          role,
          pid: members[0]!.pid,
          processes: members.length,
          windowCpuSeconds,
          windowSeconds,
          averageCores: windowSeconds > 0 ? windowCpuSeconds / windowSeconds : 0,
          peakCores,
          peakRssMiB: members.reduce((sum, w) => sum + w.hwmKib, 0) / 1024,
          firstRssMiB: rssAt((s) => s[0]),
          lastRssMiB: rssAt((s) => s.at(-1)),
        };
      })
      .sort((a, b) => roleOrder(a.role) - roleOrder(b.role) || a.role.localeCompare(b.role));
  }
}

const ROLE_ORDER = [
  "harness",
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

/**
 * The lab programs' roles grouped as the tables show them: issuers added up, the Docker engine with the lab's
 * containerd shims (they carry the containers' stdout together).
 */
export const LAB_GROUPS: { label: string; roles: (role: string) => boolean }[] = [
  { label: "toxiproxy", roles: (r) => r === "toxiproxy" },
  { label: "switch", roles: (r) => r === "switch" },
  { label: "hsm", roles: (r) => r === "hsm" },
  { label: "issuers", roles: (r) => r.startsWith("issuer") },
  { label: "dockerd + shims", roles: (r) => r === "dockerd" || r === "containerd-shim" },
];

/** CPU seconds in the window of the roles a group names. */
export function groupCpuSeconds(figures: ProcessFigure[], roles: (role: string) => boolean): number {
  return figures.filter((p) => roles(p.role)).reduce((sum, p) => sum + p.windowCpuSeconds, 0);
}
