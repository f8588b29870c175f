import { type ChildProcess, spawn } from "node:child_process";
import { afterEach } from "vitest";

// A lab program's main.ts started as its own process for a test, with only PATH and the given environment;
// every one still running is killed after each test (the caller registers that by calling useMain at the top
// of its file).

export interface MainRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function useMain(main: string): (args?: string[], env?: Record<string, string>) => MainRun {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });
  return (args = [], env = {}) => {
    const child = spawn(process.execPath, [main, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, stdout: () => stdout, stderr: () => stderr, exited };
  };
}
