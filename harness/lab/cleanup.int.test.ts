import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clearKernelFaults, NFT_TABLE } from "../chaos/kernel.ts";
import { connectToxiproxy } from "../chaos/toxiproxy.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { startEchoServer } from "./echo-server.ts";
import { freePort, LOOPBACK } from "./ports.ts";
import { listManaged, removeManaged } from "./runtime/containers.ts";
import { startToxiproxy } from "./toxiproxy.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

describe("after a crash, one command clears everything posstorm left", () => {
  it("a run killed with SIGKILL mid-fault: doctor flags the leftovers, lab down --stale removes them", async () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(REPO_ROOT, "harness/cli/main.ts"), ...args], {
        encoding: "utf8",
        timeout: 60_000,
      });
    const nftTables = () => execFileSync("nft", ["list", "tables"], { encoding: "utf8" });
    await clearKernelFaults();
    // The lab a game day would leave running: a Toxiproxy this test owns, edge and hsm in front of an echo.
    await using echo = await startEchoServer();
    await using toxiproxy = await startToxiproxy({ session: `owner-${randomUUID().slice(0, 8)}` });
    const control = connectToxiproxy(toxiproxy.apiUrl);
    const edge = await freePort();
    await control.createProxy({
      name: "edge",
      listen: `${LOOPBACK}:${edge}`,
      upstream: `${LOOPBACK}:${echo.port}`,
    });
    const hsm = await freePort();
    await control.createProxy({
      name: "hsm",
      listen: `${LOOPBACK}:${hsm}`,
      upstream: `${LOOPBACK}:${echo.port}`,
    });

    const session = `crash-${randomUUID().slice(0, 8)}`;
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "harness/lab/testing/crash-with-faults.ts"), toxiproxy.apiUrl, String(edge), session],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += String(d);
    });
    child.stderr.on("data", (d) => {
      output += String(d);
    });
    const exit = exited(child);
    const deadline = Date.now() + 40_000;
    while (!/READY|FAILED/.test(output) && Date.now() < deadline) await sleep(50);
    expect(output).toMatch(/READY \w+/);
    expect(await sessionIds(session)).toHaveLength(1);
    expect(await control.listToxics("edge")).toEqual(["latency_downstream"]);
    expect((await control.getProxy("hsm")).enabled).toBe(false);
    expect(nftTables()).toContain(`table inet ${NFT_TABLE}`);

    child.kill("SIGKILL");
    await exit;
    // Nothing was cleared by the dead process.
    expect(await control.listToxics("edge")).toEqual(["latency_downstream"]);
    expect(nftTables()).toContain(`table inet ${NFT_TABLE}`);

    const doctor = cli("doctor", "--json");
    const leftovers = (
      JSON.parse(doctor.stdout) as { name: string; status: string; detail: string; fix?: string }[]
    ).find((line) => line.name === "leftovers")!;
    expect(leftovers.status).toBe("warn");
    expect(leftovers.detail).toContain("stale container(s) of dead runs: toxiproxy");
    expect(leftovers.detail).toContain(`nftables table inet ${NFT_TABLE}`);
    expect(leftovers.detail).toMatch(/faults of dead process \d+: /);
    expect(leftovers.detail).toContain("toxic latency_downstream on edge");
    expect(leftovers.detail).toContain("hsm down");
    expect(leftovers.fix).toContain("posstorm lab down --stale");

    const down = cli("lab", "down", "--stale");
    expect(down.status).toBe(0);
    expect(down.stdout).toContain(`removed nftables table inet ${NFT_TABLE}`);
    expect(await sessionIds(session)).toEqual([]);
    expect(nftTables()).not.toContain(`table inet ${NFT_TABLE}`);
    expect(await control.listToxics("edge")).toEqual([]);
    expect((await control.getProxy("hsm")).enabled).toBe(true);
    // The lab of a live owner is kept.
    expect((await listManaged()).map((c) => c.id)).toContain(toxiproxy.service.id);

    const after = JSON.parse(cli("doctor", "--json").stdout) as { name: string; status: string }[];
    expect(after.find((line) => line.name === "leftovers")!.status).toBe("ok");
  });
});
