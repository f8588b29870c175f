import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../shared/repo.ts";
import { onShutdown } from "../../shared/shutdown.ts";
import { waitForPort } from "../ports.ts";
import type { StartedService } from "./containers.ts";
import { lastLines } from "./logs.ts";

// The `local` runtime: each lab program is a child process of the harness, behind guard.ts, which
// stops it when the harness goes away (its stdin closes), so even kill -9 leaves nothing running.

export interface ProcessSpec {
  role: string;
  command: string[];
  env?: Record<string, string>;
  /** A line the program prints once it is ready (give this or readyPort). */
  readyLog?: RegExp;
  /** Ready once 127.0.0.1:readyPort accepts TCP connections (a program that prints nothing when ready). */
  readyPort?: number;
  startupTimeoutMs?: number;
  /** Where stdout and stderr are appended. */
  logFile: string;
}

const GUARD = join(REPO_ROOT, "harness/lab/runtime/guard.ts");

export async function startProcess(spec: ProcessSpec): Promise<StartedService> {
  if ((spec.readyLog === undefined) === (spec.readyPort === undefined))
    throw new Error(`${spec.role}: give exactly one of readyLog and readyPort`);
  const log = createWriteStream(spec.logFile, { flags: "a" });
  const child = spawn(process.execPath, [GUARD, ...spec.command], {
    env: { ...process.env, ...spec.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exit: string | undefined;
  child.once("exit", (code, signal) => {
    exit = signal ? `process killed by ${signal}` : `process exited with code ${code}`;
  });

  try {
    await waitReady(child, spec);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    log.end();
    const tail = lastLines(spec.logFile);
    throw new Error(`${spec.role}: ${(error as Error).message}${tail ? `\n${tail}` : ""}`, { cause: error });
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    child.stdin!.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    log.end();
  };
  const unregister = onShutdown(stop);
  return {
    role: spec.role,
    id: `pid ${child.pid}`,
    logs: async () => lastLines(spec.logFile, 1_000),
    ended: async () => (stopped ? undefined : exit),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function waitReady(child: ChildProcess, spec: ProcessSpec): Promise<void> {
  const timeoutMs = spec.startupTimeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    let seen = "";
    let settled = false;
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString("utf8")).slice(-4096);
      if (spec.readyLog?.test(seen)) done();
    };
    const onExit = (code: number | null) => done(new Error(`exited with code ${code} before it was ready`));
    const timer = setTimeout(() => done(new Error(`not ready after ${timeoutMs}ms`)), timeoutMs);
    if (spec.readyPort !== undefined) {
      // The timer above bounds this wait; an exit ends it through onExit.
      waitForPort(spec.readyPort, timeoutMs).then(
        () => done(),
        () => undefined,
      );
    }
    const done = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.stderr!.off("data", onData);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
  });
}
