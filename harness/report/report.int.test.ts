import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { runProfile } from "../run/run-profile.ts";
import { SERVER_SAMPLES_FILE } from "./aggregate.ts";
import { renderRun } from "./report.ts";
import { type Scraper, startServerScraper } from "./scrape.ts";
import type { Slo } from "./slo.ts";
import { drawCharts, externalReferences } from "./testing/html.ts";
import { findAll, parseXml } from "./testing/xml.ts";

// The smoke profile on the real lab, then `posstorm report` on its folder. The lab programs are scraped once a
// second while it runs (as `posstorm run` will), from the admin addresses run.json records once the lab is up.

const SLOS: Slo[] = [
  { indicator: "timeout-rate", scope: { operation: "purchase" }, objective: { max: 0.05 } },
  {
    indicator: "timeout-rate",
    kind: "connect",
    scope: { operation: "signin", phase: "baseline" },
    objective: { max: 0.05 },
  },
  {
    indicator: "latency",
    percentile: "p99",
    scope: { operation: "purchase", phase: "fault:edge-latency" },
    objective: { max: 3000 },
  },
  { indicator: "success-rate", scope: { window: { worstOfS: 5 } }, objective: { min: 0.5 } },
  { indicator: "one-sided", objective: { max: 0 } },
];

/** Starts scraping as soon as run.json names the lab's admin addresses; stops when `done` settles. */
function scrapeWhileRunning(reportsDir: string, done: Promise<unknown>): Promise<Scraper | undefined> {
  return new Promise((resolve) => {
    let finished = false;
    void done.finally(() => {
      finished = true;
    });
    const poll = setInterval(() => {
      if (finished) {
        clearInterval(poll);
        resolve(undefined);
        return;
      }
      const runDir = findRunDir(reportsDir);
      if (!runDir) return;
      try {
        const run = JSON.parse(readFileSync(join(runDir, "run.json"), "utf8"));
        if (!run.lab?.metrics) return;
        clearInterval(poll);
        resolve(startServerScraper({ pages: run.lab.metrics, file: join(runDir, SERVER_SAMPLES_FILE) }));
      } catch {
        // run.json being rewritten
      }
    }, 200);
  });
}

function findRunDir(reportsDir: string): string | undefined {
  const name = readdirSync(reportsDir).find((n) => n.startsWith("smoke-"));
  return name ? join(reportsDir, name) : undefined;
}

/** Purchase outcomes counted straight from the raw sample lines (gunzipped), without the aggregator. */
function purchaseCounts(samplesFile: string): { total: number; timeouts: number } {
  let total = 0;
  let timeouts = 0;
  for (const line of gunzipSync(readFileSync(samplesFile)).toString("utf8").split("\n")) {
    if (!line) continue;
    const json = JSON.parse(line);
    if (json.ev !== undefined || json.op !== "purchase") continue;
    total += 1;
    if (String(json.outcome).startsWith("timeout.")) timeouts += 1;
  }
  return { total, timeouts };
}

describe("posstorm report on a real run", () => {
  it("renders the five outputs of the smoke run, with figures that match the raw samples", async () => {
    const reportsDir = mkdtempSync(join(tmpdir(), "posstorm-report-"));
    const running = runProfile({ profile: "smoke", reportsDir, live: false, log: () => undefined });
    const scraper = await scrapeWhileRunning(reportsDir, running);
    const outcome = await running;
    await scraper?.stop();
    expect(outcome).toMatchObject({ status: "completed", exitCode: 0 });

    const rendered = await renderRun(outcome.runDir, { slos: SLOS });
    for (const file of ["verdict.json", "summary.md", "junit.xml", "report.html", "series.json"]) {
      expect(existsSync(join(outcome.runDir, file)), file).toBe(true);
    }

    // The purchase timeout rate of the report equals the one computed from the raw samples.
    const raw = purchaseCounts(join(outcome.runDir, "samples.ndjson.gz"));
    expect(raw.total).toBeGreaterThanOrEqual(180);
    const verdict = JSON.parse(readFileSync(rendered.files.verdict, "utf8"));
    const slo = verdict.slos.find((s: { id: string }) => s.id === "timeout-rate purchase");
    expect(slo.counts).toEqual({ events: raw.timeouts, attempts: raw.total });
    expect(slo.measured).toBe(raw.timeouts / raw.total);
    const purchase = verdict.total.byOperation.find((o: { operation: string }) => o.operation === "purchase");
    expect(purchase.attempts).toBe(raw.total);
    expect(purchase.timeoutRate).toBe(raw.timeouts / raw.total);
    const run = JSON.parse(readFileSync(join(outcome.runDir, "run.json"), "utf8"));
    expect(purchase.attempts).toBe(run.outcomes.total.purchase); // the fleet's merged counts agree too

    expect(rendered.verdict.slos.map((s) => s.status)).toEqual(["pass", "pass", "pass", "pass", "pass"]);
    expect(rendered.exitCode).toBe(0);
    expect(verdict.phases.map((p: { name: string }) => p.name)).toEqual([
      "baseline",
      "fault:edge-latency",
      "recovery",
    ]);

    // junit.xml is well-formed: one test case per SLO, and one saying whether the generator kept up (failing
    // exactly when run.json says the generator was the bottleneck).
    const junit = parseXml(readFileSync(rendered.files.junit, "utf8"));
    const cases = findAll(junit, "testcase");
    expect(cases.map((c) => c.attributes.name)).toEqual([
      "generator kept up",
      ...rendered.verdict.slos.map((s) => s.id),
    ]);
    expect(findAll(cases[0]!, "failure")).toHaveLength(run.fleet.generator.limited ? 1 : 0);

    // report.html: nothing outside the file, one shaded window per fault on every chart.
    const html = readFileSync(rendered.files.html, "utf8");
    expect(externalReferences(html)).toEqual([]);
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?https?:/i);
    const faults = run.timeline.entries.length;
    expect(faults).toBe(1);
    expect(html.match(/data-fault-window=/g)).toHaveLength(faults);
    const charts = drawCharts(html);
    expect(charts.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        "throughput",
        "latency-purchase",
        "timeout-rate",
        "codes",
        "signed-in",
        "switch",
        "hsm",
      ]),
    );
    for (const chart of charts) expect(chart.shaded, chart.id).toHaveLength(faults);

    // The switch was scraped every second while the load ran.
    const scraped = rendered.model.charts.charts.find((c) => c.id === "switch")!;
    const inFlight = scraped.lines.find((l) => l.label === "in flight")!;
    expect(inFlight.values.filter((v) => v !== null).length).toBeGreaterThan(10);
    expect(rendered.model.series.slots).toBeGreaterThanOrEqual(15);
  });
});
