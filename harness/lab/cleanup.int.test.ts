import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../shared/repo.ts";
import { listManaged, removeManaged } from "./runtime/containers.ts";

const fixture = join(REPO_ROOT, "harness/lab/testing/hold-toxiproxy.ts");

async function startHolder(session: string): Promise<{ child: ChildProcess; containerId: string }> {
  const child = spawn(process.execPath, [fixture, session], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const containerId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holder not ready after 30s: ${output}`)), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk;
      const match = /READY (\w+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    child.once("exit", (code) => reject(new Error(`holder exited with ${code}: ${output}`)));
  });
  return { child, containerId };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

const sessionIds = async (session: string) =>
  (await listManaged()).filter((c) => c.session === session).map((c) => c.id);

describe("no container outlives its run", () => {
  it("Ctrl-C (SIGINT) removes the containers the process started and exits with 2", async () => {
    const session = `sigint-${randomUUID().slice(0, 8)}`;
    const { child, containerId } = await startHolder(session);
    expect(await sessionIds(session)).toEqual([containerId]);

    const exit = exited(child);
    child.kill("SIGINT");
    expect(await exit).toBe(2);
    expect(await sessionIds(session)).toEqual([]);
  });

  it("after a crash (SIGKILL) the container is stale and the next start removes it", async () => {
    const session = `crash-${randomUUID().slice(0, 8)}`;
    const { child, containerId } = await startHolder(session);
    const exit = exited(child);
    child.kill("SIGKILL");
    await exit;
    expect(await sessionIds(session)).toEqual([containerId]);

    const removed = await removeManaged({ stale: true });
    expect(removed.map((c) => c.id)).toContain(containerId);
    expect(await sessionIds(session)).toEqual([]);
  });
});
