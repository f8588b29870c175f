import { execFileSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { setPriority } from "node:os";

// The fleet's worker threads run at a raised priority where the machine allows it: the lab shares this
// machine's cores with the generator, and a segment's timers must fire at the intended starts, not when the
// switch or Toxiproxy leave a core free (schedule lag). Measured on 2 cores at 1,250 sign-ins/s: with nice -10
// each fleet thread still waited 100–200 ms a second on the run queue (schedule lag p99 12–26 ms); as a
// real-time thread (SCHED_FIFO 1) it waited about 1 ms a second (lag p99 1.7 ms).
//
// So each worker thread first asks for SCHED_FIFO at POSSTORM_FLEET_RT_PRIORITY (default 1, the lowest
// real-time priority; `chrt`, util-linux), and sets its nice value (POSSTORM_FLEET_NICE, default -10), which is
// what counts when real-time is refused. A policy and a nice value belong to a Linux thread: this changes the
// calling worker thread only — never the lab's processes or the coordinator's thread. A fleet thread is idle
// most of the time (it waits for arrivals and replies); the kernel's real-time throttling
// (/proc/sys/kernel/sched_rt_runtime_us, 95 % by default) keeps a share of every core for the rest even if one
// were not.

/** What a thread ended up with (read back from /proc, not assumed). */
export interface ThreadPriority {
  /** Scheduling policy: "fifo", "rr", "normal", "batch", "idle", "deadline". */
  policy: string;
  /** Real-time priority (1–99; 0 for the normal policies). */
  rtPriority: number;
  nice: number;
}

const POLICIES = ["normal", "fifo", "rr", "batch", "iso", "idle", "deadline"];

function wholeIn(
  env: NodeJS.ProcessEnv,
  name: string,
  min: number,
  max: number,
  fallback: number,
  what: string,
) {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: ${JSON.stringify(text)} is not ${what} (a whole number ${min}…${max})`);
  }
  return value;
}

/** The nice value fleet threads ask for (POSSTORM_FLEET_NICE, -20…19; default -10; 0 leaves it alone). */
export function wantedNice(env: NodeJS.ProcessEnv = process.env): number {
  return wholeIn(env, "POSSTORM_FLEET_NICE", -20, 19, -10, "a nice value");
}

/** The SCHED_FIFO priority fleet threads ask for (POSSTORM_FLEET_RT_PRIORITY, 0…99; default 1; 0: none). */
export function wantedRtPriority(env: NodeJS.ProcessEnv = process.env): number {
  return wholeIn(env, "POSSTORM_FLEET_RT_PRIORITY", 0, 99, 1, "a real-time priority");
}

/** Policy, real-time priority and nice value from the text of /proc/<pid>/task/<tid>/stat. */
export function parseThreadStat(text: string): ThreadPriority {
  // Fields after the command name (which may hold spaces and parentheses): field 3 (state) is [0].
  const fields = text
    .slice(text.lastIndexOf(")") + 2)
    .trim()
    .split(/\s+/);
  const nice = Number(fields[19 - 3]);
  const rtPriority = Number(fields[40 - 3]);
  const policy = Number(fields[41 - 3]);
  if (![nice, rtPriority, policy].every(Number.isInteger)) {
    throw new Error(`not a /proc stat line (no nice, rt_priority and policy fields): ${text.slice(0, 80)}`);
  }
  return { policy: POLICIES[policy] ?? `policy ${policy}`, rtPriority, nice };
}

/** The calling thread's Linux thread id, or undefined where /proc/thread-self is not there. */
function threadId(): number | undefined {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").at(-1));
  } catch {
    return undefined;
  }
}

/** The calling thread's policy and priorities, or undefined off Linux. */
export function threadPriority(): ThreadPriority | undefined {
  try {
    return parseThreadStat(readFileSync("/proc/thread-self/stat", "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Raises the calling thread's priority as far as permitted: SCHED_FIFO at `rt` (when > 0), the nice value
 * `nice` (when ≠ 0). Returns what the thread then has; a refusal (no root or CAP_SYS_NICE, no `chrt`) leaves it
 * as it was, and the return value says so.
 */
export function raiseThreadPriority(
  rt = wantedRtPriority(),
  nice = wantedNice(),
): ThreadPriority | undefined {
  const tid = threadId();
  if (rt > 0 && tid !== undefined) {
    try {
      execFileSync("chrt", ["--fifo", "--pid", String(rt), String(tid)], { stdio: "ignore", timeout: 5_000 });
    } catch {
      // Not permitted or no chrt: the nice value below is what is left.
    }
  }
  if (nice !== 0) {
    try {
      setPriority(nice);
    } catch {
      // Not permitted: the thread keeps its nice value.
    }
  }
  return threadPriority();
}

/** "fifo 1", "normal, nice -10": how a report names a thread's priority. */
export function describePriority(p: ThreadPriority): string {
  return p.rtPriority > 0 ? `${p.policy} ${p.rtPriority}` : `${p.policy}, nice ${p.nice}`;
}
