import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useMain } from "../common/testing/run-main.ts";

const start = useMain(join(import.meta.dirname, "main.ts"));
const run = (env: Record<string, string> = {}) => start([], env);

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
