import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

function run(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, POSSTORM_SWITCH_PORT: "0", POSSTORM_SWITCH_ADMIN_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const out: Run = {
    child,
    stdout: "",
    stderr: "",
    exit: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  child.stdout!.on("data", (d: Buffer) => {
    out.stdout += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    out.stderr += d.toString();
  });
  return out;
}

async function ready(r: Run): Promise<{ port: number; admin: number }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const match = /^posstorm-switch ready port=(\d+) admin=(\d+)$/m.exec(r.stdout);
    if (match) return { port: Number(match[1]), admin: Number(match[2]) };
    if (r.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ready line; stdout: ${r.stdout} stderr: ${r.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("posstorm-switch program", () => {
  it("prints the ready line, serves the admin API and exits 0 on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-switch-"));
    const file = join(dir, "switch.json");
    writeFileSync(
      file,
      JSON.stringify({ issuerTimeoutMs: 1234, routes: {}, fleet: { prefix: "T", count: 5 } }),
    );
    const r = run(["--config", file], { POSSTORM_SWITCH_HSM: "127.0.0.1:1" });
    const { port, admin } = await ready(r);
    expect(port).toBeGreaterThan(0);
    const config = (await (await fetch(`http://127.0.0.1:${admin}/config`)).json()) as Record<
      string,
      unknown
    >;
    expect(config.issuerTimeoutMs).toBe(1234);
    expect(config.fleet).toEqual(["T*5"]);
    r.child.kill("SIGTERM");
    expect(await r.exit).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("posstorm-switch ready "))).toHaveLength(1);
    expect(
      lines.every((l) => l.startsWith("posstorm-switch ready ") || l.startsWith("posstorm-switch: ")),
    ).toBe(true);
    expect(lines).toContain("posstorm-switch: SIGTERM, closing");
  });

  it("exits 2 with the ConfigError on stderr for a bad setting", async () => {
    const r = run([], { POSSTORM_SWITCH_ISSUER_TIMEOUT_MS: "soon", POSSTORM_SWITCH_ROUTES: "62=nowhere" });
    expect(await r.exit).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^posstorm-switch: switch config: issuerTimeoutMs = "soon" \(from env POSSTORM_SWITCH_ISSUER_TIMEOUT_MS\) is not a number/,
    );
  });

  it("exits 2 when a structured setting is wrong", async () => {
    const r = run([], { POSSTORM_SWITCH_ROUTES: "62=nowhere" });
    expect(await r.exit).toBe(2);
    expect(r.stderr).toMatch(/^posstorm-switch: switch config: routes: 62 goes to "nowhere"/);
  });
});
