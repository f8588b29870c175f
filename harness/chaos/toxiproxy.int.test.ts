import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EchoServer, echoRoundTrip, startEchoServer } from "../lab/echo-server.ts";
import { freePort } from "../lab/ports.ts";
import { type StartedToxiproxy, startToxiproxy } from "../lab/toxiproxy.ts";
import { runK6 } from "../load/k6.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { ChaosError, connectToxiproxy, type ToxiproxyControl } from "./toxiproxy.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function medianRtt(port: number, samples = 7): Promise<number> {
  const rtts: number[] = [];
  for (let i = 0; i < samples; i++) rtts.push(await echoRoundTrip(port));
  return median(rtts);
}

describe("Toxiproxy container in front of a TCP echo server", () => {
  let toxiproxy: StartedToxiproxy;
  let echo: EchoServer;
  let control: ToxiproxyControl;
  let proxyPort: number;

  beforeAll(async () => {
    echo = await startEchoServer();
    toxiproxy = await startToxiproxy({ session: `test-${randomUUID().slice(0, 8)}` });
    control = connectToxiproxy(toxiproxy.apiUrl);
    proxyPort = await freePort();
    await control.createProxy({
      name: "edge",
      listen: `127.0.0.1:${proxyPort}`,
      upstream: `127.0.0.1:${echo.port}`,
    });
  });

  afterAll(async () => {
    await toxiproxy?.stop();
    await echo?.close();
  });

  it("reports the pinned version", async () => {
    expect(await control.version()).toBe("2.12.0");
  });

  it("delays the echo by a 300 ms latency toxic and restores the baseline when it is removed", async () => {
    const baseline = await medianRtt(proxyPort);
    expect(baseline).toBeLessThan(100);

    const name = await control.addToxic("edge", { kind: "latency", latencyMs: 300 });
    const delayed = await medianRtt(proxyPort);
    expect(delayed).toBeGreaterThanOrEqual(295);
    expect(delayed - baseline).toBeGreaterThanOrEqual(290);

    await control.removeToxic("edge", name);
    expect(await control.listToxics("edge")).toEqual([]);
    const restored = await medianRtt(proxyPort);
    expect(restored).toBeLessThan(100);
  });

  it("k6 terminals (k6/x/tcp, TypeScript) measure the latency toxic in k6's own summary", async () => {
    const run = (env: Record<string, string>) =>
      runK6({
        script: join(REPO_ROOT, "harness/k6/smoke/tcp-echo.ts"),
        env: { TARGET_PORT: String(proxyPort), VUS: "2", ITERATIONS: "10", ...env },
        timeoutMs: 60_000,
      });
    const before = await run({});
    expect(before.exitCode).toBe(0);
    expect(before.summary!.metrics.iterations!.values.count).toBe(10);
    expect(before.summary!.checks).toEqual({ passes: 10, fails: 0 });
    expect(before.summary!.metrics.echo_rtt!.values.med).toBeLessThan(100);

    const name = await control.addToxic("edge", { kind: "latency", latencyMs: 300 });
    try {
      const during = await run({});
      expect(during.summary!.checks).toEqual({ passes: 10, fails: 0 });
      expect(during.summary!.metrics.echo_rtt!.values.min).toBeGreaterThanOrEqual(295);
      // A response timer shorter than the added latency turns every exchange into timeout.response.
      const timedOut = await run({ RESPONSE_TIMEOUT_MS: "150" });
      expect(timedOut.summary!.metrics["echo_failures{reason:timeout.response}"]!.values.count).toBe(10);
    } finally {
      await control.removeToxic("edge", name);
    }
  });

  it("refuses connections while the proxy is disabled", async () => {
    await control.setEnabled("edge", false);
    await expect(echoRoundTrip(proxyPort)).rejects.toThrow(/ECONNREFUSED/);
    await control.setEnabled("edge", true);
    expect(await echoRoundTrip(proxyPort)).toBeLessThan(100);
  });

  it("turns API failures into a ChaosError naming the proxy", async () => {
    const error = await control.removeToxic("no-such-link", "latency_downstream").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChaosError);
    expect((error as ChaosError).proxy).toBe("no-such-link");
  });
});
