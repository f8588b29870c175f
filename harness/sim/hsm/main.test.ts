import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type MainRun, useMain } from "../common/testing/run-main.ts";
import { HsmClient } from "./client.ts";

const run = useMain(join(import.meta.dirname, "main.ts"));
type Run = MainRun;

async function ready(started: Run): Promise<{ port: number; admin: number }> {
  await expect.poll(() => started.stdout(), { timeout: 10_000 }).toMatch(/\n/);
  const [first] = started.stdout().split("\n");
  const match = /^posstorm-hsm ready port=(\d+) admin=(\d+)$/.exec(first!);
  expect(match, `first stdout line: ${first}; stderr: ${started.stderr()}`).not.toBeNull();
  return { port: Number(match![1]), admin: Number(match![2]) };
}

describe("posstorm-hsm main", () => {
  it("prints the ready line, serves, takes a config file and exits 0 on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-hsm-"));
    const file = join(dir, "hsm.json");
    writeFileSync(file, JSON.stringify({ workers: 7 }));
    const started = run(["--config", file], { POSSTORM_HSM_MAX_QUEUE: "9" });
    const { port, admin } = await ready(started).finally(() => rmSync(dir, { recursive: true, force: true }));
    const config = (await (await fetch(`http://127.0.0.1:${admin}/config`)).json()) as Record<
      string,
      unknown
    >;
    expect([config.workers, config.maxQueue]).toEqual([7, 9]);
    const client = await HsmClient.connect("127.0.0.1", port);
    expect((await client.diagnostics()).error).toBe("00");
    await client.close();
    started.child.kill("SIGTERM");
    expect(await started.exited).toBe(0);
    expect(started.stdout().match(/ready/g)).toHaveLength(1);
  });

  it("exits 0 on SIGINT", async () => {
    const started = run([]);
    await ready(started);
    started.child.kill("SIGINT");
    expect(await started.exited).toBe(0);
  });

  it("exits 2 with one line naming a bad setting", async () => {
    const started = run([], { POSSTORM_HSM_SERVICE_TIME_MS: "soon" });
    expect(await started.exited).toBe(2);
    expect(started.stdout()).toBe("");
    expect(started.stderr()).toBe(
      'posstorm-hsm: hsm config: serviceTimeMs = "soon" (from env POSSTORM_HSM_SERVICE_TIME_MS) is not a number\n',
    );
    const badKey = run([], { POSSTORM_HSM_LAB_KEY_HEX: "0123" });
    expect(await badKey.exited).toBe(2);
    expect(badKey.stderr()).toMatch(
      /^posstorm-hsm: .*labKeyHex \(from env POSSTORM_HSM_LAB_KEY_HEX\) must be 32 hex digits/,
    );
    const badArg = run(["--nope"]);
    expect(await badArg.exited).toBe(2);
    expect(badArg.stderr()).toMatch(/^posstorm-hsm: .*--nope/);
  });
});
