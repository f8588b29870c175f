import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { aggregateFile, createAggregator } from "./aggregate.ts";
import { startServerScraper } from "./scrape.ts";
import { fakeRunFolder } from "./testing/run-folder.ts";
import { LOAD_START_MS, steady } from "./testing/series.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function metricsServer(body: () => string, status = 200): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(body());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("startServerScraper", () => {
  it("scrapes each program into the aggregator and the jsonl file, keeping only the listed metrics", async () => {
    let inFlight = 0;
    const sw = await metricsServer(
      () =>
        `# TYPE switch_in_flight gauge\nswitch_in_flight ${++inFlight}\nswitch_requests_total{code="00"} 9\n`,
    );
    const broken = await metricsServer(() => "no", 500);
    const dir = fakeRunFolder({ seconds: steady(3, 1), fault: null });
    const file = join(dir, "server-metrics.jsonl");
    let t = LOAD_START_MS + 200;
    const aggregator = createAggregator({ loadStartMs: LOAD_START_MS });
    const scraper = startServerScraper({
      pages: { switch: `${sw}/metrics`, hsm: `${broken}/metrics` },
      intervalMs: 60_000,
      file,
      now: () => t,
      onSample: (tMs, role, metrics) => aggregator.addServerSample(tMs, role, metrics),
    });
    await scraper.scrapeOnce();
    t += 2000;
    await scraper.scrapeOnce();
    await scraper.stop();
    expect(aggregator.result().server.switch!.switch_in_flight).toEqual([1, null, 2]);
    expect(scraper.failures).toEqual({ hsm: 2 });
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { t: LOAD_START_MS + 200, role: "switch", metrics: { switch_in_flight: 1 } },
      { t: LOAD_START_MS + 2200, role: "switch", metrics: { switch_in_flight: 2 } },
    ]);
    // The report reads the same lines back.
    const series = await aggregateFile(dir);
    expect(series.server.switch!.switch_in_flight).toEqual([1, null, 2]);
  });

  it("keeps a user's switch's named metrics beyond the lab's own, counters included", async () => {
    const page = await metricsServer(
      () => 'jvm_threads 40\ntx_pending 7\nauth_total{rc="00"} 12\nprocess_cpu_seconds_total 3.5\n',
    );
    const seen: Map<string, number>[] = [];
    const scraper = startServerScraper({
      pages: { switch: `${page}/metrics` },
      keep: ["tx_pending", "auth_total"],
      intervalMs: 60_000,
      onSample: (_t, _role, metrics) => seen.push(metrics),
    });
    await scraper.scrapeOnce();
    await scraper.stop();
    expect(Object.fromEntries(seen[0]!)).toEqual({
      tx_pending: 7,
      'auth_total{rc="00"}': 12,
      process_cpu_seconds_total: 3.5,
    });
  });

  it("scrapes on its timer until stopped", async () => {
    const sw = await metricsServer(() => "hsm_utilisation 0.5\n");
    const seen: number[] = [];
    const scraper = startServerScraper({
      pages: { hsm: `${sw}/prometheus` },
      intervalMs: 20,
      onSample: (tMs) => seen.push(tMs),
      file: join(mkdtempSync(join(tmpdir(), "posstorm-scrape-")), "s.jsonl"),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await scraper.stop();
    const count = seen.length;
    expect(count).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(seen.length).toBe(count);
  });
});
