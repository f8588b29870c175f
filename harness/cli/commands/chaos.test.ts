import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { buildParser } from "../parser.ts";
import { faultFromArgs, listText, parseResponseMix, parseSettings, resolveTarget } from "./chaos.ts";

describe("chaos apply arguments", () => {
  it("builds a latency fault on edge by default", () => {
    expect(faultFromArgs({ fault: "latency", "latency-ms": 200 })).toEqual({
      kind: "latency",
      link: "edge",
      latencyMs: 200,
    });
    expect(
      faultFromArgs({ fault: "packet-loss", link: "hsm", "loss-percent": 30, direction: "upstream" }),
    ).toEqual({ kind: "packet-loss", link: "hsm", lossPercent: 30, direction: "upstream" });
  });

  it("builds backend faults: issuer names, response mixes and switch settings", () => {
    expect(faultFromArgs({ fault: "issuer-errors", issuer: "a", "response-mix": "00:90,91:10" })).toEqual({
      kind: "issuer-errors",
      issuer: "issuer-a",
      responseMix: { "00": 90, "91": 10 },
    });
    expect(faultFromArgs({ fault: "switch-config", set: ["issuerTimeoutMs=5000", "shedding=true"] })).toEqual(
      {
        kind: "switch-config",
        settings: { issuerTimeoutMs: 5000, shedding: true },
      },
    );
    expect(faultFromArgs({ fault: "hsm-capacity", "capacity-per-second": 20 })).toEqual({
      kind: "hsm-capacity",
      capacityPerSecond: 20,
    });
  });

  it("names the flag in errors", () => {
    expect(() => faultFromArgs({ fault: "latency", "latency-ms": -5 })).toThrow(
      "--latency-ms: -5 must be >= 0",
    );
    expect(() => faultFromArgs({ fault: "latency" })).toThrow(
      "--latency-ms: missing (latency needs latencyMs, jitterMs?)",
    );
    expect(() => faultFromArgs({ fault: "down", "latency-ms": 5 })).toThrow(
      /--latency-ms: not a field of down/,
    );
    expect(() => faultFromArgs({ fault: "wobble" })).toThrow(/--fault wobble: not a fault kind/);
    expect(() => faultFromArgs({ fault: "issuer-errors", issuer: "a", "response-mix": "00:x" })).toThrow(
      /--response-mix: weight of 00 NaN must be a number >= 0/,
    );
  });

  it("parses mixes and settings", () => {
    expect(parseResponseMix('{"00": 1}')).toEqual({ "00": 1 });
    expect(parseSettings(["fleet=POS*10,TERM0001", 'routes={"62":"issuer-a"}'])).toEqual({
      fleet: ["POS*10", "TERM0001"],
      routes: { "62": "issuer-a" },
    });
    expect(() => parseSettings(["issuerTimeoutMs"])).toThrow(/expected name=value/);
  });
});

describe("chaos targets", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "posstorm-chaos-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the lab's Toxiproxy, links and admin URLs from lab.json", async () => {
    writeFileSync(
      join(dir, "lab.json"),
      JSON.stringify({
        toxiproxy: "http://127.0.0.1:8474",
        links: {
          edge: { listen: { host: "127.0.0.1", port: 4000 }, upstream: { host: "127.0.0.1", port: 4001 } },
        },
        admin: { switch: "http://127.0.0.1:4002" },
      }),
    );
    const target = await resolveTarget({ lab: dir });
    expect(target.toxiproxy!.apiUrl).toBe("http://127.0.0.1:8474");
    expect(target.ctx!.links.edge!.listen.port).toBe(4000);
    expect(target.ctx!.admin).toEqual({ switch: "http://127.0.0.1:4002" });
  });

  it("refuses a non-loopback Toxiproxy and a folder without lab.json", async () => {
    await expect(resolveTarget({ toxiproxy: "http://10.0.0.5:8474" })).rejects.toThrow(
      /outside 127\.0\.0\.0\/8/,
    );
    await expect(resolveTarget({ lab: dir })).rejects.toThrow(/no lab\.json there/);
  });
});

describe("posstorm chaos", () => {
  let stdout: MockInstance;
  beforeEach(() => {
    stdout = vi.spyOn(console, "log").mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it("lists fault kinds, presets and incidents", async () => {
    await buildParser(["chaos", "list"]).parseAsync();
    const out = stdout.mock.calls.map((c) => String(c[0])).join("\n");
    expect(out).toBe(listText());
    for (const word of [
      "latency",
      "syn-drop",
      "connection-kill",
      "switch-restart",
      "gprs",
      "satellite",
      "link-flap",
      "connection-flood",
      "corrupt",
      "transmission-errors",
      "power-loss",
      "terminal-power-loss",
    ]) {
      expect(out).toContain(word);
    }
    expect(out).toContain("fraction of connections, not of messages");
  });

  it("rejects an apply without exactly one of --fault, --preset, --incident", async () => {
    await expect(
      buildParser(["chaos", "apply", "--toxiproxy", "http://127.0.0.1:1"]).parseAsync(),
    ).rejects.toThrow("give exactly one of --fault, --preset or --incident");
    await expect(
      buildParser(["chaos", "apply", "--preset", "5g", "--toxiproxy", "http://127.0.0.1:1"]).parseAsync(),
    ).rejects.toThrow(/--preset 5g: unknown \(lan, 4g, 3g, gprs, satellite\)/);
    await expect(buildParser(["chaos", "apply", "--incident", "link-flap"]).parseAsync()).rejects.toThrow(
      "--incident needs --for <seconds>",
    );
  });
});
