import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const MAIN = join(import.meta.dirname, "main.ts");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

function run(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN], {
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
}

describe("posstorm-issuer main", () => {
  it("prints the ready line, serves its admin API and exits 0 on SIGTERM", async () => {
    const started = run({ POSSTORM_ISSUER_NAME: "B", POSSTORM_ISSUER_RESPONSE_MIX: "00:9,51:1" });
    await expect.poll(() => started.stdout(), { timeout: 10_000 }).toMatch(/\n/);
    const [first] = started.stdout().split("\n");
    const match = /^posstorm-issuer ready port=(\d+) admin=(\d+)$/.exec(first!);
    expect(match, `first stdout line: ${first}; stderr: ${started.stderr()}`).not.toBeNull();
    const admin = `http://127.0.0.1:${match![2]}`;
    const config = (await (await fetch(`${admin}/config`)).json()) as Record<string, unknown>;
    expect([config.issuerId, config.responseMix]).toEqual(["99020000", "00:9,51:1"]);
    expect(await (await fetch(`${admin}/ledger/summary`)).json()).toMatchObject({ approved: 0 });
    started.child.kill("SIGTERM");
    expect(await started.exited).toBe(0);
  });

  it("exits 2 with one line naming a bad setting", async () => {
    const started = run({ POSSTORM_ISSUER_WORKERS: "0" });
    expect(await started.exited).toBe(2);
    expect(started.stdout()).toBe("");
    expect(started.stderr()).toBe(
      'posstorm-issuer: issuer config: workers = "0" (from env POSSTORM_ISSUER_WORKERS) must be >= 1\n',
    );
  });
});
