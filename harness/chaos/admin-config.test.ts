import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../lab/ports.ts";
import { type StartedHsm, startHsm } from "../sim/hsm/index.ts";
import { type StartedIssuer, startIssuer } from "../sim/issuer/index.ts";
import { type RunningSwitch, startSwitch } from "../sim/switch/switch.ts";
import { httpConfigApi } from "./admin-config.ts";
import { applyFault, type ChaosContext } from "./apply.ts";
import { startTimeline } from "./timeline.ts";

// Backend faults against the real simulators' admin APIs (in-process, port 0): the PUT, the GET read-back,
// and the restore.

describe("backend faults through the simulators' admin API", () => {
  let issuer: StartedIssuer;
  let hsm: StartedHsm;
  let sw: RunningSwitch;
  let ctx: ChaosContext;
  const api = httpConfigApi(2_000);
  const get = async (role: string) => api.get(ctx.admin[role]!);

  beforeAll(async () => {
    issuer = await startIssuer({ port: 0, adminPort: 0, name: "A" });
    hsm = await startHsm({ port: 0, adminPort: 0 });
    sw = await startSwitch(
      {
        port: 0,
        adminPort: 0,
        hsm: `127.0.0.1:${hsm.port}`,
        issuers: { "issuer-a": `127.0.0.1:${issuer.port}` },
        routes: { "62": "issuer-a" },
      },
      { log: () => undefined },
    );
    ctx = {
      toxiproxy: {} as ChaosContext["toxiproxy"],
      links: {},
      admin: {
        "issuer-a": `http://127.0.0.1:${issuer.adminPort}`,
        hsm: `http://127.0.0.1:${hsm.adminPort}`,
        switch: `http://127.0.0.1:${sw.adminPort}`,
      },
    };
  });

  afterAll(async () => {
    await sw?.close();
    await hsm?.close();
    await issuer?.close();
  });

  it("slows the issuer and restores its service time", async () => {
    const applied = await applyFault(
      { kind: "issuer-slow", issuer: "issuer-a", medianMs: 5000, p99Ms: 9000 },
      ctx,
    );
    expect(await get("issuer-a")).toMatchObject({ medianMs: 5000, p99Ms: 9000 });
    expect(JSON.parse(String(applied.facts.previous))).toEqual({ medianMs: 80, p99Ms: 400 });
    await applied.clear();
    expect(await get("issuer-a")).toMatchObject({ medianMs: 80, p99Ms: 400 });
  });

  it("sets the issuer's response mix (read back in its compact form) and restores it", async () => {
    const applied = await applyFault(
      { kind: "issuer-errors", issuer: "issuer-a", responseMix: { "91": 20, "00": 80 } },
      ctx,
    );
    expect((await get("issuer-a")).responseMix).toBe("00:80,91:20");
    await applied.clear();
    expect((await get("issuer-a")).responseMix).toBe("00:1");
  });

  it("cuts HSM capacity and changes switch settings, restored when the timeline ends", async () => {
    const timeline = startTimeline(
      [
        { at: 0, for: 0.2, fault: { kind: "hsm-capacity", capacityPerSecond: 20 } },
        {
          at: 0,
          for: 0.2,
          fault: { kind: "switch-config", settings: { issuerTimeoutMs: 5000, shedding: true } },
        },
      ],
      ctx,
      { clearOnShutdown: false },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await get("hsm")).capacityPerSecond).toBe(20);
    expect(await get("switch")).toMatchObject({ issuerTimeoutMs: 5000, shedding: true });
    const result = await timeline.done;
    expect(result.entries.map((e) => e.status)).toEqual(["cleared", "cleared"]);
    expect((await get("hsm")).capacityPerSecond).toBe(0);
    expect(await get("switch")).toMatchObject({ issuerTimeoutMs: 30_000, shedding: false });
  });

  it("passes on the program's refusal and a dead admin API as errors naming them", async () => {
    await expect(applyFault({ kind: "switch-config", settings: { hsmPoolSize: 500 } }, ctx)).rejects.toThrow(
      /PUT http:\/\/127\.0\.0\.1:\d+\/config: HTTP 400: switch config: hsmPoolSize = 500 .*must be <= 64/,
    );
    const dead = `http://127.0.0.1:${await freePort()}`;
    await expect(
      applyFault({ kind: "hsm-capacity", capacityPerSecond: 1 }, { ...ctx, admin: { hsm: dead } }),
    ).rejects.toThrow(`GET ${dead}/config: connect ECONNREFUSED`);
  });
});
