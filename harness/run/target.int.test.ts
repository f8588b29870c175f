import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startLab } from "../lab/lab.ts";
import { profileFile } from "../profile/testing/profile-file.ts";
import { readSeries } from "../report/index.ts";
import { phaseP50, runQuietly } from "./testing/run-quietly.ts";

// A switch posstorm did not start (`target`): posstorm still puts Toxiproxy in front of it, so a fault on edge
// reaches the terminals; the switch's own metrics page, when the profile names it, is scraped and charted.
// "Your switch" here is a reference switch and its backends started apart, as a user's would be running.

const _reports = () => mkdtempSync(join(tmpdir(), "posstorm-target-"));

describe("posstorm run against a switch already running (target)", () => {
  it("puts Toxiproxy in front of it: a latency fault on edge shows, the switch's metrics are charted", async () => {
    await using running = await startLab({
      runtime: "local",
      runDir: mkdtempSync(join(tmpdir(), "posstorm-your-switch-")),
      issuers: { a: { medianMs: 5, p99Ms: 5 }, b: { medianMs: 5, p99Ms: 5 } },
    });
    // Straight at the switch, not through that lab's own edge proxy.
    const yours = running.links.edge.upstream;
    const file = profileFile(
      "your-switch",
      `{
        name: "your-switch",
        durationS: 9,
        target: { host: "${yours.host}", port: ${yours.port} },
        switchMetrics: { url: "${running.metrics.switch}", chart: ["switch_sessions", "switch_requests_total"] },
        terminal: { responseTimeoutMs: 3000 },
        fleet: { model: "population", terminals: 20, signIn: { curve: "uniform", windowS: 1 },
                 purchases: { perTerminal: 6, thinkTimeS: { mean: 1, jitter: 0 } } },
        chaos: [{ name: "slow-edge", at: 3, for: 3, fault: { kind: "latency", link: "edge", latencyMs: 300 } }],
        slos: [{ id: "purchase-success", indicator: "success-rate", scope: { operation: "purchase" }, objective: { min: 0.99 } }],
      }`,
    );
    const quiet = await runQuietly(file);
    const { outcome, run } = quiet;
    expect(outcome).toMatchObject({ status: "completed", exitCode: 0 });
    // Only the terminals' link is proxied, and it leads to the switch that was already running.
    expect(Object.keys(run.lab!.links)).toEqual(["edge"]);
    expect(run.lab!.links.edge!.upstream).toEqual(yours);
    expect(run.versions!.switch).toMatch(/yours, already running/);
    expect(run.timeline!.entries![0]).toMatchObject({ name: "slow-edge", status: "cleared" });
    expect(run.outcomes!.byOutcome.purchase.approved).toBe(run.outcomes!.total.purchase);
    // The fault is in the terminals' figures: purchases during it took the 300 ms on top.
    expect(phaseP50(quiet, "fault:slow-edge")).toBeGreaterThanOrEqual(300);
    expect(phaseP50(quiet, "baseline")).toBeLessThan(100);
    // The switch's metrics page was scraped as `switch`, the named metrics kept and charted.
    const series = readSeries(outcome.runDir);
    expect(Math.max(...(series.server.switch?.switch_sessions ?? []).map((v) => v ?? 0))).toBeGreaterThan(0);
    expect(Object.keys(series.server.switch ?? {}).some((k) => k.startsWith("switch_requests_total"))).toBe(
      true,
    );
    expect(readFileSync(join(outcome.runDir, "report.html"), "utf8")).toContain("Your switch&#39;s metrics");
    expect(readdirSync(join(outcome.runDir, "collected"))).toContain("switch.metrics.prom");
  });

  it("asks a switch of yours nothing it did not offer: no metrics page, no collect noise", async () => {
    await using running = await startLab({
      runtime: "local",
      runDir: mkdtempSync(join(tmpdir(), "posstorm-your-switch-")),
    });
    const yours = running.links.edge.upstream;
    const file = profileFile(
      "quiet-switch",
      `{
        name: "quiet-switch",
        durationS: 3,
        target: { host: "${yours.host}", port: ${yours.port} },
        fleet: { model: "open", operation: "signin", stages: [{ durationS: 3, ratePerS: 20 }], maxVUs: 20, terminals: 50 },
      }`,
    );
    const { outcome, log } = await runQuietly(file);
    expect(outcome).toMatchObject({ status: "completed", exitCode: 0 });
    expect(log.split("\n").filter((l) => /collect|fetch failed/.test(l))).toEqual([]);
    expect(existsSync(join(outcome.runDir, "collected", "switch.metrics.prom"))).toBe(false);
  });
});
