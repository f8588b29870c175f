import { execFileSync, spawn } from "node:child_process";
import { closeSync, createReadStream, constants as fsConstants, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { constants as osConstants, tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { findTool } from "../shared/tools.ts";

const SETUP_FIX = "run `bash scripts/setup.sh` (it builds k6 v2 with k6/x/tcp into .tools/bin/k6)";

/** Trend statistics k6 writes to the summary; `count` is not in k6's default list. */
const TREND_STATS = "avg,min,med,max,p(90),p(95),p(99),count";
/** Grace between SIGTERM (k6 stops gracefully and still writes its summary) and SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** Most of stdout/stderr kept, each: the tail, where k6 prints its errors and summary. */
const OUTPUT_LIMIT = 1 << 20;

/**
 * The k6 binary to run: `$POSSTORM_K6` if set, else `<$POSSTORM_TOOLS or <repo>/.tools>/bin/k6`,
 * else `k6` on PATH. Throws an Error naming every place looked at and the fix.
 */
export function findK6(env: NodeJS.ProcessEnv = process.env): string {
  const { path, searched } = findTool("k6", { overrideVar: "POSSTORM_K6", env });
  if (path) return path;
  throw new Error(`k6 not found: looked at ${searched.join(", ")}; ${SETUP_FIX}`);
}

/** One metric of k6's end-of-test summary (`--summary-export`). */
export interface K6MetricSummary {
  /**
   * Statistic → value, as k6 names them. Counter: `count`, `rate` (per s). Rate: `passes`,
   * `fails`, `value` (0-1). Trend: `avg`, `min`, `med`, `max`, `p(90)`, `p(95)`, `p(99)`, `count`
   * (time trends in ms). Gauge: `value`, `min`, `max`.
   */
  values: Record<string, number>;
  /** Threshold expression → true when it was crossed (failed). */
  thresholds: Record<string, boolean>;
}

export interface K6Summary {
  /** Every metric by name; submetrics that thresholds name appear as `echo_failures{reason:refused}`. */
  metrics: Record<string, K6MetricSummary>;
  /** All `check()` results of the run, every group included. */
  checks: { passes: number; fails: number };
  /** The summary file as k6 wrote it. */
  raw: unknown;
}

export interface RunK6Options {
  /** The script path (relative to `cwd`). */
  script: string;
  /** Script variables, passed as `--env NAME=value` (the script's `__ENV`). */
  env?: Record<string, string>;
  /** More `k6 run` flags, placed before the script. */
  args?: readonly string[];
  cwd?: string;
  /** Wall-clock limit; k6 is killed when it is reached and runK6 rejects. */
  timeoutMs: number;
  /** Aborting kills k6 and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The k6 binary; default {@link findK6}(). */
  k6?: string;
  /**
   * Receives k6's `--out json` stream (one JSON object per line) while k6 runs, through a named pipe: nothing
   * of it touches the disk unless this stream writes it. runK6 settles only once the stream has finished
   * (ended after k6's last line, however k6 ended); a failing stream stops k6 and makes runK6 reject.
   */
  jsonOutput?: Writable;
}

export interface K6Result {
  /** k6's exit code: 0 ok, 99 thresholds crossed, 107 script error, ...; 128+n when killed by signal n. */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The end-of-test summary; undefined when k6 ended before writing one (e.g. a script error in init). */
  summary: K6Summary | undefined;
}

/** Runs `k6 run` on a script and returns its exit code, output and parsed summary. */
export async function runK6(opts: RunK6Options): Promise<K6Result> {
  opts.signal?.throwIfAborted();
  const k6 = opts.k6 ?? findK6();
  const dir = await mkdtemp(join(tmpdir(), "posstorm-k6-"));
  const summaryPath = join(dir, "summary.json");
  let results: ReturnType<typeof jsonOutputPipe> | undefined;
  try {
    results = opts.jsonOutput ? jsonOutputPipe(dir, opts.jsonOutput) : undefined;
    const args = [
      "run",
      "--no-usage-report",
      "--quiet",
      "--no-color",
      "--summary-export",
      summaryPath,
      "--summary-trend-stats",
      TREND_STATS,
      ...(results ? ["--out", `json=${results.fifo}`] : []),
      ...Object.entries(opts.env ?? {}).flatMap(([name, value]) => ["--env", `${name}=${value}`]),
      ...(opts.args ?? []),
      opts.script,
    ];
    const signal = results
      ? opts.signal
        ? AbortSignal.any([opts.signal, results.failed])
        : results.failed
      : opts.signal;
    const { exitCode, stdout, stderr } = await spawnK6(k6, args, { ...opts, signal });
    await results?.finished();
    return { exitCode, stdout, stderr, summary: await readSummary(summaryPath) };
  } finally {
    await results?.finished().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A named pipe for k6's JSON output, read into `into` from the start. `finished()` (once k6 is gone) resolves
 * when `into` has finished, or rejects with why it failed; `failed` aborts when it fails.
 */
function jsonOutputPipe(
  dir: string,
  into: Writable,
): { fifo: string; failed: AbortSignal; finished(): Promise<void> } {
  const fifo = join(dir, "results.fifo");
  execFileSync("mkfifo", ["-m", "600", fifo]);
  const failure = new AbortController();
  // Opening the reading end waits for a writer: k6 opens the pipe when its outputs start.
  const done = pipeline(createReadStream(fifo), into).catch((error: Error) => {
    const wrapped = new Error(`k6's JSON output: ${error.message}`, { cause: error });
    failure.abort(wrapped);
    throw wrapped;
  });
  done.catch(() => undefined);
  return {
    fifo,
    failed: failure.signal,
    finished() {
      // k6 is gone. Had it never opened the pipe, the reader would still wait for a writer: open and close one
      // so that it reads the end. When the reader is gone already there is no one to wake (ENXIO).
      try {
        closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
      } catch {
        // no reader left
      }
      return done;
    },
  };
}

function spawnK6(
  k6: string,
  args: string[],
  opts: RunK6Options,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(k6, args, {
      cwd: opts.cwd,
      env: { ...process.env, K6_AUTO_EXTENSION_RESOLUTION: "false", K6_NO_USAGE_REPORT: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout = new Tail();
    const stderr = new Tail();
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

    // Why k6 is being stopped: our timeout, or the caller's abort signal (its reason is rethrown as is).
    let stopping: { timedOut: true } | { timedOut: false; reason: unknown } | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: NonNullable<typeof stopping>) => {
      if (stopping) return;
      stopping = why;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    };
    const started = Date.now();
    const timer = setTimeout(() => stop({ timedOut: true }), opts.timeoutMs);
    const onAbort = () => stop({ timedOut: false, reason: opts.signal?.reason });
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener("abort", onAbort);
    };
    child.once("error", (error) => {
      cleanup();
      reject(new Error(`could not start ${k6}: ${error.message}; ${SETUP_FIX}`, { cause: error }));
    });
    child.once("close", (code, signal) => {
      cleanup();
      if (stopping?.timedOut === false) {
        reject(stopping.reason);
        return;
      }
      if (stopping?.timedOut) {
        const tail = stderr.text().trim().split("\n").slice(-5).join("\n");
        reject(
          new Error(
            `k6 run ${opts.script} did not finish within ${opts.timeoutMs}ms; killed it after ` +
              `${Date.now() - started}ms${tail ? `; stderr tail:\n${tail}` : ""}`,
          ),
        );
        return;
      }
      const exitCode = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
      resolve({ exitCode, stdout: stdout.text(), stderr: stderr.text() });
    });
  });
}

/** Keeps the last OUTPUT_LIMIT bytes of a stream. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= OUTPUT_LIMIT) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

async function readSummary(path: string): Promise<K6Summary | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  return parseSummary(JSON.parse(text));
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Normalizes k6's `--summary-export` JSON ({ metrics, root_group }). */
export function parseSummary(raw: unknown): K6Summary {
  if (!isObject(raw) || !isObject(raw.metrics)) {
    throw new Error("k6 summary: expected an object with `metrics`");
  }
  const metrics: Record<string, K6MetricSummary> = {};
  for (const [name, entry] of Object.entries(raw.metrics)) {
    if (!isObject(entry)) continue;
    const values: Record<string, number> = {};
    const thresholds: Record<string, boolean> = {};
    for (const [stat, value] of Object.entries(entry)) {
      if (typeof value === "number") values[stat] = value;
    }
    if (isObject(entry.thresholds)) {
      for (const [expr, crossed] of Object.entries(entry.thresholds)) thresholds[expr] = crossed === true;
    }
    metrics[name] = { values, thresholds };
  }
  return { metrics, checks: countChecks(raw.root_group), raw };
}

/** k6 has written groups and checks both as arrays and as objects keyed by name. */
const entries = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : isObject(value) ? Object.values(value) : [];

function countChecks(group: unknown): { passes: number; fails: number } {
  const total = { passes: 0, fails: 0 };
  if (!isObject(group)) return total;
  for (const check of entries(group.checks)) {
    if (!isObject(check)) continue;
    total.passes += typeof check.passes === "number" ? check.passes : 0;
    total.fails += typeof check.fails === "number" ? check.fails : 0;
  }
  for (const child of entries(group.groups)) {
    const sub = countChecks(child);
    total.passes += sub.passes;
    total.fails += sub.fails;
  }
  return total;
}
