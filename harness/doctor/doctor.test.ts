import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../shared/repo.ts";

// The doctor runs as a real child process; missing prerequisites are simulated through PATH,
// POSSTORM_TOOLS and DOCKER_HOST, never by replacing the check functions.

const cli = join(REPO_ROOT, "harness/cli/main.ts");

interface Line {
  status: "ok" | "missing";
  name: string;
  version: string;
  detail: string;
  fix?: string;
}

async function doctor(env: NodeJS.ProcessEnv): Promise<{ code: number; lines: Line[] }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [cli, "doctor", "--json"], { env });
    return { code: 0, lines: JSON.parse(stdout) };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, lines: JSON.parse(e.stdout) };
  }
}

function fakeTool(dir: string, name: string, script: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `#!/bin/sh\n${script}\n`);
  chmodSync(join(dir, name), 0o755);
}

const byName = (lines: Line[], name: string) => lines.find((l) => l.name === name)!;

describe("posstorm doctor", () => {
  let base: string;
  let emptyPath: string;
  let held: net.Server;
  let heldPort: number;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "posstorm-doctor-"));
    emptyPath = join(base, "empty-path");
    mkdirSync(emptyPath);
    held = net.createServer();
    await new Promise<void>((resolve) => held.listen(0, "127.0.0.1", resolve));
    heldPort = (held.address() as net.AddressInfo).port;
  });
  afterAll(() => held.close());

  const bareEnv = (tools: string): NodeJS.ProcessEnv => ({
    PATH: emptyPath,
    POSSTORM_TOOLS: tools,
    DOCKER_HOST: `unix://${join(base, "no-engine.sock")}`,
    POSSTORM_DOCTOR_PORTS: String(heldPort),
    // nft and ss are also looked for in /usr/sbin, /sbin: these play a machine without nftables and iproute2.
    POSSTORM_NFT: join(base, "no-nft"),
    POSSTORM_SS: join(base, "no-ss"),
  });

  it("on a bare machine names every missing prerequisite with its own fix, and exits 2", async () => {
    const tools = join(base, "bare");
    const { code, lines } = await doctor(bareEnv(tools));
    expect(code).toBe(2);
    expect(byName(lines, "node").detail).toBe(`no node in ${tools}/node/bin/node, PATH`);
    expect(byName(lines, "toxiproxy").detail).toBe(
      `toxiproxy-server not found in ${tools}/bin/toxiproxy-server, PATH`,
    );
    expect(byName(lines, "docker engine").detail).toMatch(/^no engine answers at unix:\/\/.*no-engine\.sock/);
    expect(byName(lines, "docker engine").fix).toMatch(/scripts\/engine\.sh/);
    expect(byName(lines, "image toxiproxy").detail).toMatch(/cannot ask the engine/);
    const root = process.getuid?.() === 0;
    expect(byName(lines, "nftables (packet loss)").detail).toMatch(
      root ? /^nft \(nftables\) not found/ : /CAP_NET_ADMIN/,
    );
    if (root) expect(byName(lines, "nftables (packet loss)").fix).toMatch(/installs nftables/);
    expect(byName(lines, "ss (connection kill)").detail).toMatch(
      root ? /^ss \(iproute2\) not found/ : /CAP_NET_ADMIN/,
    );
    expect(byName(lines, "free ports").detail).toBe(`127.0.0.1:${heldPort} in use`);
    // no chrt on this PATH: the fleet's threads keep the normal policy (nice -10 still, as root)
    expect(byName(lines, "fleet thread priority")).toMatchObject({
      status: "warn",
      detail: expect.stringMatching(
        /^segment threads run at normal, nice (-10|0): real-time scheduling refused/,
      ),
      fix: expect.stringMatching(/CAP_SYS_NICE/),
    });
    const fixes = lines.filter((l) => l.status === "missing").map((l) => l.fix);
    expect(fixes.every((f) => typeof f === "string" && f.length > 0)).toBe(true);
  });

  it("tells an old Node and a wrong Toxiproxy apart from missing ones", async () => {
    const tools = join(base, "wrong-versions");
    fakeTool(join(tools, "node/bin"), "node", "echo v20.20.2");
    fakeTool(join(tools, "bin"), "toxiproxy-server", 'echo "toxiproxy-server version 2.5.0"');
    const { code, lines } = await doctor(bareEnv(tools));
    expect(code).toBe(2);
    expect(byName(lines, "node")).toMatchObject({ status: "missing", version: "v20.20.2" });
    expect(byName(lines, "node").detail).toMatch(/is older than 22\.22\.0/);
    expect(byName(lines, "toxiproxy")).toMatchObject({ status: "missing", version: "2.5.0" });
  });

  it("accepts tools that report the right versions", async () => {
    const tools = join(base, "right-versions");
    fakeTool(join(tools, "node/bin"), "node", "echo v24.21.0");
    fakeTool(join(tools, "bin"), "toxiproxy-server", 'echo "toxiproxy-server version 2.12.0"');
    const { lines } = await doctor(bareEnv(tools));
    expect(byName(lines, "node").status).toBe("ok");
    expect(byName(lines, "toxiproxy").status).toBe("ok");
  });

  it("says whether the fleet's threads get real-time scheduling, as a segment's thread asks for it", async () => {
    const env = { ...bareEnv(join(base, "bare")), PATH: process.env.PATH };
    const root = process.getuid?.() === 0;
    const { lines } = await doctor(env);
    expect(byName(lines, "fleet thread priority")).toMatchObject(
      root ? { status: "ok", detail: "segment threads run at fifo 1" } : { status: "warn" },
    );
    // asked for none: the nice value alone, and nothing to warn of
    const without = await doctor({ ...env, POSSTORM_FLEET_RT_PRIORITY: "0" });
    expect(byName(without.lines, "fleet thread priority")).toMatchObject({
      status: "ok",
      detail: `segment threads run at normal, nice ${root ? -10 : 0}`,
    });
  });

  it("finds a tool on PATH when the tools folder lacks it", async () => {
    const onPath = join(base, "on-path");
    fakeTool(onPath, "toxiproxy-server", 'echo "toxiproxy-server version 2.12.0"');
    fakeTool(onPath, "nft", "exit 0");
    const { POSSTORM_NFT: _nft, ...env } = bareEnv(join(base, "bare2"));
    const { lines } = await doctor({ ...env, PATH: onPath });
    expect(byName(lines, "toxiproxy")).toMatchObject({
      status: "ok",
      detail: join(onPath, "toxiproxy-server"),
    });
    // Found on PATH, then probed for real: an nft that does nothing is not taken for nftables.
    const nft = byName(lines, "nftables (packet loss)");
    expect(nft.status).toBe("missing");
    if (process.getuid?.() === 0)
      expect(nft.detail).toMatch(/^nft accepted table posstorm_probe_\d+ but does not list its rule/);
  });
});
