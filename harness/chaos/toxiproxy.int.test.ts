import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EchoServer, echoRoundTrip, startEchoServer } from "../lab/echo-server.ts";
import { freePort } from "../lab/ports.ts";
import { type StartedToxiproxy, startToxiproxy } from "../lab/toxiproxy.ts";
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
