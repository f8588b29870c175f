import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProfile } from "../run/run-profile.ts";
import { openBrowser, type PageSeen, type ReportBrowser, reportProblems } from "./browser.ts";
import { type RenderedRun, renderRun } from "./report.ts";

// report.html of a real smoke run opened in headless Chromium (the machine's, see scripts/browser.sh): every
// chart drawn, the fault window shaded, nothing logged, the footer there. Then the same file broken on purpose,
// to show each check can fail.

let browser: ReportBrowser;
let rendered: RenderedRun;
let html: string;
const scratch = mkdtempSync(join(tmpdir(), "posstorm-browser-"));

/** The real report with `edit` applied, as the browser sees it. */
async function inspectEdited(name: string, edit: (html: string) => string): Promise<PageSeen> {
  const edited = edit(html);
  expect(edited, `${name}: the edit changed nothing`).not.toBe(html);
  const file = join(scratch, `${name}.html`);
  writeFileSync(file, edited);
  return await browser.inspect(file);
}

beforeAll(async () => {
  browser = await openBrowser();
  const outcome = await runProfile({
    profile: "smoke",
    reportsDir: mkdtempSync(join(tmpdir(), "posstorm-run-")),
    live: false,
    log: () => undefined,
  });
  expect(outcome, outcome.error).toMatchObject({ status: "completed" });
  rendered = await renderRun(outcome.runDir);
  html = readFileSync(rendered.files.html, "utf8");
});

afterAll(async () => {
  await browser?.close();
});

describe("report.html of a smoke run in headless Chromium", () => {
  it("draws every chart, shades the fault window on each, logs no error and ends with the plan and versions", async () => {
    const seen = await browser.inspect(rendered.files.html);
    expect(reportProblems(seen)).toEqual([]);
    expect(seen.pageErrors).toEqual([]);
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.externalRequests).toEqual([]);
    expect(seen.title).toBe(`posstorm ${rendered.model.run.runId}`);

    const expected = rendered.model.charts.charts;
    const { x, faults } = rendered.model.charts;
    expect(faults.map((f) => f.name)).toEqual(["edge-latency"]);
    const windowS = faults[0]!.endS - faults[0]!.startS;
    const axisS = x[x.length - 1]! - x[0]!;
    expect(windowS).toBeGreaterThan(9);
    expect(seen.charts.map((c) => c.id)).toEqual(expected.map((c) => c.id));
    expect(seen.charts.length).toBeGreaterThanOrEqual(7);
    for (const chart of seen.charts) {
      const lines = expected.find((c) => c.id === chart.id)!.lines;
      if (lines.length === 0) {
        expect(chart, chart.id).toMatchObject({ noData: true, canvas: undefined });
        continue;
      }
      expect(chart.canvas?.width, chart.id).toBeGreaterThan(300);
      expect(chart.series, chart.id).toEqual(lines.map((l) => l.label));
      expect(chart.linePixels, `${chart.id}: pixels in the series colours`).toBeGreaterThan(100);
      // The window's share of the time axis, of the plot's width (the canvas less its y axis). The axis is the
      // run's, not the profile's 30 s: operations in flight at the end can run it on by their timeouts.
      const share = `${chart.id}: fault shading, ${windowS} s of a ${axisS} s axis`;
      expect(chart.shadedColumns, share).toBeGreaterThan(0.6 * (windowS / axisS) * chart.canvas!.width);
      expect(chart.shadedColumns, share).toBeLessThan((windowS / axisS) * chart.canvas!.width + 2);
    }
    expect(seen.charts.filter((c) => !c.noData).map((c) => c.id)).toEqual(
      expect.arrayContaining(["throughput", "latency-purchase", "timeout-rate", "codes", "signed-in"]),
    );

    expect(seen.faultWindows).toEqual(["edge-latency"]);
    expect(seen.sections.slice(-2)).toEqual(["Plan", "Versions"]);
    expect(JSON.parse(seen.plan!)).toMatchObject({ runId: rendered.model.run.runId });
    expect(seen.versions).toMatchObject({ posstorm: expect.any(String), node: process.version });
    expect(seen.versions.fleet).toMatch(/^posstorm fleet engine \d/);
  });

  it("writes a screenshot 1280 px wide down to the end of the charts", async () => {
    const out = join(scratch, "report.png");
    const { width, height } = await browser.screenshot(rendered.files.html, out, { until: ".charts" });
    const png = readFileSync(out);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([width, height]);
    expect(width).toBe(1280);
    expect(height).toBeGreaterThan(240 * rendered.model.charts.charts.length);
  });
});

describe("the browser check fails a broken report", () => {
  it("a syntax error in the chart script: a page error, and no chart has a canvas", async () => {
    const seen = await inspectEdited("syntax", (h) => h.replace('"use strict";', '"use strict"; var = ;'));
    expect(seen.pageErrors.join("\n")).toMatch(/SyntaxError/);
    expect(seen.charts.every((c) => c.canvas === undefined)).toBe(true);
    expect(reportProblems(seen)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^page error: .*SyntaxError/),
        "chart throughput: no canvas",
      ]),
    );
  });

  it("chart data that does not parse: a page error", async () => {
    const seen = await inspectEdited("data", (h) =>
      h.replace(
        '<script id="posstorm-data" type="application/json">{',
        '<script id="posstorm-data" type="application/json">{,',
      ),
    );
    expect(seen.pageErrors.join("\n")).toMatch(/JSON/);
    expect(reportProblems(seen).length).toBeGreaterThan(1);
  });

  it("console.error, a request outside the file, no fault shading and no footer are each reported", async () => {
    const seen = await inspectEdited("quiet-failures", (h) =>
      h
        .replace(
          "<body>",
          '<body><script>console.error("boom")</script><img src="http://127.0.0.1:9/pixel.png">',
        )
        .replace(/"faults":\[[^\]]*\]/, '"faults":[]')
        .replace(/<footer>[\s\S]*<\/footer>/, ""),
    );
    expect(seen.consoleErrors).toContain("boom");
    expect(seen.externalRequests).toEqual(["http://127.0.0.1:9/pixel.png"]);
    expect(seen.pageErrors).toEqual([]);
    for (const chart of seen.charts.filter((c) => !c.noData)) {
      expect(chart.linePixels, chart.id).toBeGreaterThan(100);
      expect(chart.shadedColumns, chart.id).toBe(0);
    }
    expect(reportProblems(seen)).toEqual(
      expect.arrayContaining([
        "console error: boom",
        "request outside the file: http://127.0.0.1:9/pixel.png",
        "fault windows edge-latency listed but shaded on no chart",
        "no plan in the footer",
        "no versions table in the footer",
      ]),
    );
  });

  it("series drawn in no visible colour: no line pixels", async () => {
    const seen = await inspectEdited("invisible", (h) =>
      h.replace("stroke: colour(line.label, i), width: 1.5,", "stroke: colour(line.label, i), width: 0,"),
    );
    expect(seen.pageErrors).toEqual([]);
    expect(reportProblems(seen)).toEqual(expect.arrayContaining(["chart throughput: no series line drawn"]));
  });
});
