import { describe, expect, it } from "vitest";
import { FleetControl } from "../fleet/index.ts";
import { applyFault } from "./apply.ts";
import { fakeLab } from "./testing/fakes.ts";

describe("applyFault against fake seams", () => {
  it("adds one toxic per direction for `both` and removes them on clear", async () => {
    const lab = fakeLab();
    const applied = await applyFault(
      { kind: "latency", link: "edge", latencyMs: 100, direction: "both" },
      lab.ctx,
    );
    expect([...lab.toxics.get("edge")!]).toEqual(["latency_upstream", "latency_downstream"]);
    await applied.clear();
    expect(lab.toxics.get("edge")!.size).toBe(0);
  });

  it("undoes the first toxic when the second cannot be added", async () => {
    const lab = fakeLab();
    lab.failNext(/add edge bandwidth_downstream/);
    await expect(
      applyFault({ kind: "bandwidth", link: "edge", rateKBps: 4, direction: "both" }, lab.ctx),
    ).rejects.toThrow(/injected failure/);
    expect(lab.toxics.get("edge")!.size).toBe(0);
    expect(lab.log).toEqual([
      "add edge bandwidth_upstream",
      "add edge bandwidth_downstream",
      "remove edge bandwidth_upstream",
    ]);
  });

  it("sets power loss on the run's fleet and takes it away on clear; without a fleet it refuses", async () => {
    const lab = fakeLab();
    const fleet = new FleetControl();
    const seen: unknown[] = [];
    fleet.subscribe((c) => seen.push(c));
    const applied = await applyFault({ kind: "power-loss", fraction: 0.25 }, { ...lab.ctx, fleet });
    expect(fleet.conditions).toEqual({ powerLoss: { fraction: 0.25, offMs: 5000 } });
    await applied.clear();
    expect(fleet.conditions).toEqual({});
    expect(seen).toEqual([{}, { powerLoss: { fraction: 0.25, offMs: 5000 } }, {}]);
    await expect(applyFault({ kind: "power-loss", fraction: 0.25 }, lab.ctx)).rejects.toThrow(
      /power-loss acts on the run's own terminals/,
    );
  });

  it("disables a link for `down` and re-enables it on clear", async () => {
    const lab = fakeLab();
    const applied = await applyFault({ kind: "down", link: "hsm" }, lab.ctx);
    expect(lab.enabled.get("hsm")).toBe(false);
    await applied.clear();
    expect(lab.enabled.get("hsm")).toBe(true);
  });

  it("kills connections by cycling the proxy, and leaves a disabled proxy alone", async () => {
    const lab = fakeLab();
    await applyFault({ kind: "connection-kill", link: "edge" }, lab.ctx);
    expect(lab.log).toEqual(["get edge", "disable edge", "enable edge"]);
    lab.enabled.set("edge", false);
    lab.log.length = 0;
    const applied = await applyFault({ kind: "connection-kill", link: "edge" }, lab.ctx);
    expect(lab.log).toEqual(["get edge"]);
    expect(applied.facts.note).toMatch(/already disabled/);
  });

  it("re-enables the proxy even when disabling failed", async () => {
    const lab = fakeLab();
    lab.failNext(/disable edge/);
    await expect(applyFault({ kind: "connection-kill", link: "edge" }, lab.ctx)).rejects.toThrow(/injected/);
    expect(lab.log).toEqual(["get edge", "disable edge", "enable edge"]);
  });

  it("kills with ss -K on the link's port and reports how many", async () => {
    const lab = fakeLab();
    const applied = await applyFault({ kind: "connection-kill", link: "hsm", method: "ss-kill" }, lab.ctx);
    expect(lab.log).toEqual(["ss -K 20001"]);
    expect(applied.facts).toEqual({ killedConnections: 3 });
  });

  it("adds kernel drops on the link's listen port; clear reports the dropped packets", async () => {
    const lab = fakeLab();
    const loss = await applyFault({ kind: "packet-loss", link: "edge", lossPercent: 30 }, lab.ctx);
    const syn = await applyFault({ kind: "syn-drop", link: "edge" }, lab.ctx);
    expect([...lab.drops]).toEqual(["packet-loss_edge_upstream+downstream", "syn-drop_edge_upstream"]);
    expect(lab.log[1]).toBe("nft add syn-drop_edge_upstream port=20000 loss=100");
    expect(await loss.clear()).toEqual({ droppedPackets: 7 });
    await syn.clear();
    expect(lab.drops.size).toBe(0);
  });

  it("names the missing link", async () => {
    const lab = fakeLab(["edge"]);
    await expect(
      applyFault({ kind: "packet-loss", link: "issuer-z", lossPercent: 5 }, lab.ctx),
    ).rejects.toThrow("no link issuer-z in this lab (links: edge)");
  });

  it("changes backend settings through the admin API, verified, and restores them", async () => {
    const lab = fakeLab();
    const applied = await applyFault(
      { kind: "issuer-slow", issuer: "issuer-a", medianMs: 5000, p99Ms: 9000 },
      lab.ctx,
    );
    expect(lab.config.get("issuer-a")).toMatchObject({ medianMs: 5000, p99Ms: 9000 });
    expect(lab.log).toEqual(["GET issuer-a", 'PUT issuer-a {"medianMs":5000,"p99Ms":9000}', "GET issuer-a"]);
    await applied.clear();
    expect(lab.config.get("issuer-a")).toMatchObject({ medianMs: 80, p99Ms: 400 });

    const errors = await applyFault(
      { kind: "issuer-errors", issuer: "issuer-a", responseMix: { "00": 80, "91": 20 } },
      lab.ctx,
    );
    expect(lab.config.get("issuer-a")!.responseMix).toBe("00:80,91:20");
    await errors.clear();
    expect(lab.config.get("issuer-a")!.responseMix).toBe("00:1");

    const sw = await applyFault({ kind: "switch-config", settings: { issuerTimeoutMs: 5000 } }, lab.ctx);
    expect(lab.config.get("switch")!.issuerTimeoutMs).toBe(5000);
    await sw.clear();
    expect(lab.config.get("switch")!.issuerTimeoutMs).toBe(30_000);
  });

  it("fails when the read-back does not show the change", async () => {
    const lab = fakeLab();
    const put = lab.ctx.config!.put;
    lab.ctx.config!.put = async (url, patch) => {
      const answer = await put(url, patch);
      lab.config.get(url)!.capacityPerSecond = 0; // a restart in between, say
      return answer;
    };
    await expect(applyFault({ kind: "hsm-capacity", capacityPerSecond: 20 }, lab.ctx)).rejects.toThrow(
      "hsm config did not take: GET hsm/config reads capacityPerSecond = 0 (asked 20)",
    );
  });

  it("refuses a setting the program does not have", async () => {
    const lab = fakeLab();
    await expect(applyFault({ kind: "switch-config", settings: { maxQueue: 5 } }, lab.ctx)).rejects.toThrow(
      "switch has no setting maxQueue (GET switch/config)",
    );
  });

  it("restarts the switch through the injected function, and says when there is none", async () => {
    const lab = fakeLab();
    const applied = await applyFault({ kind: "switch-restart", downMs: 250 }, lab.ctx);
    expect(lab.log).toEqual(["restart switch down=250"]);
    expect(applied.facts.restartMs).toBeTypeOf("number");
    const { restartService: _, ...without } = lab.ctx;
    await expect(applyFault({ kind: "switch-restart" }, without)).rejects.toThrow(/needs restartService/);
  });

  it("bounds a restart that hangs", async () => {
    const lab = fakeLab();
    lab.ctx.restartService = () => new Promise(() => undefined);
    lab.ctx.restartTimeoutMs = 50;
    await expect(applyFault({ kind: "switch-restart", downMs: 10 }, lab.ctx)).rejects.toThrow(
      "restart switch: not done after 60ms",
    );
  });
});
