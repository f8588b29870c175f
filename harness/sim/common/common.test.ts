import { describe, expect, it } from "vitest";
import { parsePrometheus } from "../../shared/prometheus.ts";
import { StreamedBody, startAdmin } from "./admin.ts";
import { ConfigError, type ConfigSpec, loadConfig } from "./config.ts";
import { Registry } from "./metrics.ts";
import { type Listener, serveProgram } from "./program.ts";

const spec = {
  issuerTimeoutMs: {
    type: "int",
    default: 30_000,
    min: 1,
    env: "SW_ISSUER_TIMEOUT_MS",
    runtime: true,
    help: "",
  },
  listenPort: { type: "int", default: 0, min: 0, max: 65535, env: "SW_PORT", help: "" },
  mode: {
    type: "string",
    default: "timeout",
    oneOf: ["timeout", "shed"],
    env: "SW_MODE",
    runtime: true,
    help: "",
  },
} satisfies ConfigSpec;

describe("simulator config", () => {
  it("merges defaults, file, environment and overrides in that order", () => {
    const config = loadConfig("switch", spec, {
      file: { path: "switch.json", values: { issuerTimeoutMs: 1000, listenPort: 9000 } },
      env: { SW_ISSUER_TIMEOUT_MS: "2000" },
      overrides: { mode: "shed" },
    });
    expect(config).toEqual({ issuerTimeoutMs: 2000, listenPort: 9000, mode: "shed" });
  });

  it("names every bad value, its setting and its source", () => {
    let error: ConfigError | undefined;
    try {
      loadConfig("switch", spec, {
        file: { path: "switch.json", values: { listenPort: 70000, nope: 1 } },
        env: { SW_ISSUER_TIMEOUT_MS: "soon", SW_MODE: "panic" },
      });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      "listenPort = 70000 (from switch.json) must be <= 65535",
      expect.stringMatching(/^unknown setting nope \(from switch\.json\)/),
      'issuerTimeoutMs = "soon" (from env SW_ISSUER_TIMEOUT_MS) is not a number',
      'mode = "panic" (from env SW_MODE) must be one of timeout, shed',
    ]);
  });
});

describe("metrics registry", () => {
  it("renders counters, gauges and histograms in Prometheus text", () => {
    const registry = new Registry();
    const responses = registry.counter("sim_responses_total", "responses by code");
    const inflight = registry.gauge("sim_in_flight", "requests in flight");
    const latency = registry.histogram("sim_latency_seconds", "latency", [0.01, 0.1]);
    responses.inc({ code: "00" }, 3);
    responses.inc({ code: "98" });
    inflight.track(() => 7);
    latency.observe(0.005);
    latency.observe(0.05);
    const parsed = parsePrometheus(registry.render());
    expect(parsed.get('sim_responses_total{code="00"}')).toBe(3);
    expect(parsed.get('sim_responses_total{code="98"}')).toBe(1);
    expect(parsed.get("sim_in_flight")).toBe(7);
    expect(parsed.get('sim_latency_seconds_bucket{le="0.01"}')).toBe(1);
    expect(parsed.get('sim_latency_seconds_bucket{le="+Inf"}')).toBe(2);
    expect(parsed.get("sim_latency_seconds_count")).toBe(2);
  });
});

describe("admin API", () => {
  it("serves health, metrics and config, and changes only run-time settings", async () => {
    const registry = new Registry();
    registry.counter("sim_up_total", "up").inc();
    const values = loadConfig("switch", spec, {});
    const changes: string[][] = [];
    const admin = await startAdmin({
      program: "switch",
      host: "127.0.0.1",
      port: 0,
      registry,
      config: { spec, values, onChange: (c) => changes.push(c) },
    });
    const base = `http://127.0.0.1:${admin.port}`;
    try {
      expect(((await (await fetch(`${base}/healthz`)).json()) as { ok: boolean }).ok).toBe(true);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain("sim_up_total 1");
      const put = await fetch(`${base}/config`, {
        method: "PUT",
        body: JSON.stringify({ issuerTimeoutMs: 1000 }),
      });
      expect(put.status).toBe(200);
      expect(
        ((await (await fetch(`${base}/config`)).json()) as { issuerTimeoutMs: number }).issuerTimeoutMs,
      ).toBe(1000);
      expect(changes).toEqual([["issuerTimeoutMs"]]);
      const refused = await fetch(`${base}/config`, {
        method: "PUT",
        body: JSON.stringify({ listenPort: 1 }),
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /listenPort cannot change at run time/,
      );
      const bad = await fetch(`${base}/config`, {
        method: "PUT",
        body: JSON.stringify({ issuerTimeoutMs: 0 }),
      });
      expect(((await bad.json()) as { error: string }).error).toMatch(
        /issuerTimeoutMs = 0 \(from PUT \/config\) must be >= 1/,
      );
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await admin.close();
    }
  });

  it("streams a StreamedBody as it is produced, and cuts the body short when producing it fails", async () => {
    const admin = await startAdmin({
      program: "issuer",
      host: "127.0.0.1",
      port: 0,
      registry: new Registry(),
      config: { spec, values: loadConfig("issuer", spec, {}) },
      routes: {
        "GET /lines": () =>
          new StreamedBody(
            "application/x-ndjson",
            (function* () {
              yield '{"n":1}\n';
              yield '{"n":2}\n';
            })(),
          ),
        "GET /broken": () =>
          new StreamedBody(
            "application/x-ndjson",
            (async function* () {
              yield '{"n":1}\n';
              throw new Error("ledger gone");
            })(),
          ),
      },
    });
    const base = `http://127.0.0.1:${admin.port}`;
    try {
      const lines = await fetch(`${base}/lines`);
      expect(lines.headers.get("content-type")).toBe("application/x-ndjson");
      expect(await lines.text()).toBe('{"n":1}\n{"n":2}\n');
      const broken = await fetch(`${base}/broken`);
      expect(broken.status).toBe(200);
      await expect(broken.text()).rejects.toThrow();
    } finally {
      await admin.close();
    }
  });
});

describe("serveProgram", () => {
  const admin = (port: number) => ({
    program: "hsm",
    host: "127.0.0.1",
    port,
    registry: new Registry(),
    config: { spec, values: loadConfig("hsm", spec, {}) },
  });
  const fakeListener = (events: string[]): Listener => ({
    port: 4000,
    close: async () => {
      events.push("listener closed");
    },
  });

  it("closes once: the program's work first, then the listener and the admin API", async () => {
    const events: string[] = [];
    const program = await serveProgram({
      listener: fakeListener(events),
      admin: admin(0),
      stop: () => events.push("stopped"),
    });
    expect(program.port).toBe(4000);
    const base = `http://127.0.0.1:${program.adminPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const first = program.close();
    expect(program.close()).toBe(first);
    expect(program[Symbol.asyncDispose]()).toBe(first);
    await first;
    expect(events).toEqual(["stopped", "listener closed"]);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it("stops the program and closes its listener when the admin API cannot start", async () => {
    const taken = await startAdmin(admin(0));
    const events: string[] = [];
    try {
      await expect(
        serveProgram({
          listener: fakeListener(events),
          admin: admin(taken.port),
          stop: () => events.push("stopped"),
        }),
      ).rejects.toThrow(/EADDRINUSE/);
      expect(events).toEqual(["stopped", "listener closed"]);
    } finally {
      await taken.close();
    }
  });
});
