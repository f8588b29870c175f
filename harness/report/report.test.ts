import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { recordedCompareSettings } from "./compare.ts";
import { ReportError, renderRun } from "./report.ts";
import { SERIES_FILE } from "./series.ts";
import type { Slo } from "./slo.ts";
import { drawCharts, externalReferences } from "./testing/html.ts";
import { fakeRunFolder, ledgerEntry } from "./testing/run-folder.ts";
import { LOAD_START_MS, steady } from "./testing/series.ts";
import { findAll, parseXml } from "./testing/xml.ts";

// renderRun end to end on hand-made run folders: what each file says, exit codes, and report.html without a
// browser (its references, and its script run against a recording uPlot).

const SLOS: Slo[] = [
  {
    indicator: "timeout-rate",
    scope: { operation: "purchase", phase: "baseline" },
    objective: { max: 0.01 },
  },
  {
    id: 'fault <timeouts> & "friends"',
    indicator: "timeout-rate",
    scope: { phase: "fault:edge-latency" },
    objective: { max: 0.05 },
  },
  { indicator: "latency", percentile: "p99", objective: { max: 10_000 }, warn: { max: 1000 } },
  { indicator: "one-sided", objective: { max: 0 } },
  { indicator: "recovery-time", objective: { max: 10 } },
  { indicator: "error-rate", scope: { phase: "fault:missing" }, objective: { max: 0.01 } },
];

// 30 s: clean baseline, 20 % timeouts during the fault (10–20 s), recovery clean after 2 s.
const seconds = [...steady(10, 50), ...steady(10, 40, 10), ...steady(2, 45, 5), ...steady(8, 50)];
const unsettled = (tid: string, stan: string) => ({
  metric: "pos_unsettled",
  timeMs: LOAD_START_MS + 12_000,
  value: 1,
  tags: { tid, stan, batch: "000001", reason: "98" },
});
const queued = {
  metric: "pos_reversal_events",
  timeMs: LOAD_START_MS + 12_000,
  value: 1,
  tags: { event: "queued" },
};

function folder(ledgerFormat?: "json") {
  return fakeRunFolder({
    seconds,
    ...(ledgerFormat ? { ledgerFormat } : {}),
    extra: [unsettled("POS00002", "000002"), unsettled("POS00003", "000003"), queued, queued],
    ledgers: {
      "issuer-a": [
        ledgerEntry({ tid: "POS00002", stan: "000002", pan: "6222021234561234" }),
        ledgerEntry({ tid: "POS00003", stan: "000003", status: "reversed" }),
      ],
    },
  });
}

describe("renderRun", () => {
  it("writes the five outputs and judges the run", async () => {
    const dir = folder();
    const r = await renderRun(dir, { slos: SLOS });
    for (const f of Object.values(r.files)) expect(existsSync(f), f).toBe(true);
    expect(r.slosFrom).toBe("options");
    expect(r.verdict.slos.map((s) => [s.id, s.status, s.measured])).toEqual([
      ["timeout-rate purchase baseline", "pass", 0],
      ['fault <timeouts> & "friends"', "fail", 0.2],
      ["latency p99", "warn", 5000],
      ["one-sided", "fail", 1],
      ["recovery-time", "pass", 2],
      ["error-rate fault:missing", "no-data", null],
    ]);
    expect(r.exitCode).toBe(1);

    const verdict = JSON.parse(readFileSync(r.files.verdict, "utf8"));
    expect(verdict).toMatchObject({ status: "fail", exitCode: 1, runStatus: "completed", profile: "fake" });
    expect(verdict.phases.map((p: { name: string }) => p.name)).toEqual([
      "baseline",
      "fault:edge-latency",
      "recovery",
    ]);
    expect(verdict.total.all.attempts).toBe(1500);
    expect(verdict.reconciliation.first[0]).toMatchObject({ tid: "POS00002", pan: "6222 02** **** 1234" });
    expect(readFileSync(r.files.verdict, "utf8")).not.toContain("6222021234561234");
  });

  it("summary.md: the verdict table, phases, reconciliation", async () => {
    const r = await renderRun(folder(), { slos: SLOS });
    const md = readFileSync(r.files.summary, "utf8");
    expect(md).toContain("## posstorm fake-20260101-120000: ❌ SLO breached");
    expect(md).toContain("| SLO | measured | objective | margin | status |");
    expect(md).toMatch(
      /\| all operations timeout rate, fault:edge-latency<br><sub>100 of 500 attempts<\/sub> \| 20 % \| ≤ 5 % \| −15 pp \| ❌ FAIL \|/,
    );
    expect(md).toMatch(
      /\| all operations p99 latency, whole run<br>.*\| 5,000 ms \| ≤ 10,000 ms \(warn ≤ 1,000 ms\) \| \+5,000 ms \| ⚠️ warn \|/,
    );
    expect(md).toMatch(/\| fault:edge-latency \| 10–20 \| 500 \| 50 \| 20 % \| 0 % \| 20 % \| 0 % \| 0 % \|/);
    expect(md).toContain("One-sided transactions: **1**");
    expect(md).toContain("| issuer-a | POS00002 | 000002 | 000001 | 6222 02** **** 1234 |");
  });

  it("junit.xml: one test case per SLO, failures with the numbers, valid and escaped", async () => {
    const r = await renderRun(folder(), { slos: SLOS });
    const root = parseXml(readFileSync(r.files.junit, "utf8"));
    expect(root.attributes).toMatchObject({ tests: "6", failures: "2", skipped: "1" });
    const cases = findAll(root, "testcase");
    expect(cases.map((c) => c.attributes.name)).toEqual(r.verdict.slos.map((s) => s.id));
    const failure = findAll(cases[1]!, "failure")[0]!;
    expect(failure.attributes.message).toBe(
      "all operations timeout rate, fault:edge-latency: measured 20 %, objective ≤ 5 %, margin −15 pp",
    );
    expect(failure.text).toContain("100 of 500 attempts");
    expect(findAll(cases[2]!, "failure")).toEqual([]);
    expect(findAll(cases[2]!, "system-out")[0]!.text).toMatch(/^WARNING/);
    expect(findAll(cases[5]!, "skipped")[0]!.attributes.message).toMatch(/^no data: no fault:missing phase/);
  });

  it("a generator-limited run says so in every output; one that kept up passes its check", async () => {
    const reasons = [
      { text: "12 arrivals dropped (no free terminal; bound 0) in seconds 3, 4" },
      { text: "schedule lag p99 up to 31.2 ms (bound 10 ms) in second 4" },
    ];
    const dir = fakeRunFolder({ seconds, run: { fleet: { generator: { limited: true, reasons } } } });
    const r = await renderRun(dir, { slos: SLOS.slice(0, 1) });
    expect(r.exitCode).toBe(0);
    const md = readFileSync(r.files.summary, "utf8");
    expect(md).toMatch(/^## posstorm .*: ✅ all SLOs met — ⚠️ generator-limited$/m);
    expect(md).toContain("> The load generator was the bottleneck (12 arrivals dropped");
    expect(JSON.parse(readFileSync(r.files.verdict, "utf8")).generator).toEqual({
      limited: true,
      reasons: reasons.map((x) => x.text),
    });
    const root = parseXml(readFileSync(r.files.junit, "utf8"));
    expect(root.attributes).toMatchObject({ tests: "2", failures: "1" });
    const kept = findAll(root, "testcase").find((c) => c.attributes.name === "generator kept up")!;
    expect(findAll(kept, "failure")[0]!.attributes.message).toBe(
      `generator-limited: ${reasons.map((x) => x.text).join("; ")}`,
    );
    expect(readFileSync(r.files.html, "utf8")).toContain('<span class="badge warn">GENERATOR-LIMITED</span>');

    const fine = await renderRun(
      fakeRunFolder({ seconds, run: { fleet: { generator: { limited: false, reasons: [] } } } }),
      { slos: SLOS.slice(0, 1) },
    );
    const fineCases = findAll(parseXml(readFileSync(fine.files.junit, "utf8")), "testcase");
    expect(findAll(fineCases.find((c) => c.attributes.name === "generator kept up")!, "failure")).toEqual([]);
    expect(readFileSync(fine.files.summary, "utf8")).not.toContain("generator-limited");
  });

  it("report.html: self-contained, every chart drawn with each fault window shaded once", async () => {
    const r = await renderRun(folder(), { slos: SLOS });
    const html = readFileSync(r.files.html, "utf8");
    expect(externalReferences(html)).toEqual([]);
    expect(html).toContain("uPlot"); // the library is inline
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+stylesheet/);
    expect(html).toContain("fault &lt;timeouts&gt; &amp; &quot;friends&quot;");
    expect(html).not.toContain("6222021234561234");
    expect(html).not.toContain("0123456789ABCDEFFEDCBA9876543210"); // the lab key stays out
    expect(html.match(/data-fault-window=/g)).toHaveLength(1);
    const charts = drawCharts(html);
    expect(charts.map((c) => c.id)).toEqual([
      "throughput",
      "latency-purchase",
      "timeout-rate",
      "codes",
      "signed-in",
      "switch",
    ]);
    for (const c of charts) {
      expect(c.shaded, c.id).toHaveLength(1);
      expect(c.shaded[0]).toEqual({ x: 100, width: 100 }); // 10–20 s at 10 px/s
    }
    expect(charts.find((c) => c.id === "timeout-rate")!.seriesLabels).toEqual([
      "connect",
      "response",
      "idle",
    ]);
    expect(charts.find((c) => c.id === "latency-purchase")!.seriesLabels).toEqual(["p50", "p95", "p99"]);
    // Plan and versions at the bottom.
    expect(html.indexOf("<h2>Plan</h2>")).toBeGreaterThan(html.indexOf("<h2>Charts</h2>"));
    expect(html).toContain("k6 v2.2.0");
  });

  it("uses series.json when there is one, and k6-results.json otherwise", async () => {
    const dir = folder();
    await renderRun(dir, { slos: [] });
    expect(existsSync(join(dir, SERIES_FILE))).toBe(true);
    rmSync(join(dir, "k6-results.json"));
    const again = await renderRun(dir, { slos: [] });
    expect(again.model.total.all.attempts).toBe(1500);
    expect(again.verdict).toMatchObject({ status: "pass", exitCode: 0, slos: [] });
    expect(again.model.notes).toContain("The profile defines no SLOs: the verdict is a pass by default.");
  });

  it("takes the SLOs recorded in run.json", async () => {
    const dir = fakeRunFolder({
      seconds: steady(5, 10),
      fault: null,
      run: { slos: [{ indicator: "success-rate", objective: { min: 0.99 } }] },
    });
    const r = await renderRun(dir);
    expect(r.slosFrom).toBe("run.json");
    expect(r.verdict.slos[0]).toMatchObject({ measured: 1, status: "pass" });
  });

  it("never reads the profile: a run folder renders the same with its profile file gone", async () => {
    const profileDir = mkdtempSync(join(tmpdir(), "posstorm-gone-"));
    const file = join(profileDir, "gone.ts");
    // a profile that would throw if anything imported it
    writeFileSync(file, 'throw new Error("the report imported the profile");\n');
    const dir = fakeRunFolder({
      seconds: steady(5, 10),
      fault: null,
      run: {
        profile: { name: "gone", file },
        slos: [{ indicator: "success-rate", objective: { min: 0.99 } }],
        compare: { maxRegressionPct: { p99: 5 } },
      },
    });
    const before = await renderRun(dir);
    rmSync(profileDir, { recursive: true });
    const after = await renderRun(dir);
    expect(after.slosFrom).toBe("run.json");
    expect(after.verdict).toEqual(before.verdict);
    expect(recordedCompareSettings(dir)).toEqual({ maxRegressionPct: { p99: 5 } });
    // a run that recorded no SLOs is judged by none, whatever its profile says
    const bare = fakeRunFolder({ seconds: steady(5, 10), fault: null });
    expect((await renderRun(bare)).slosFrom).toBe("none");
    // a run of this version keeps them in plan.json, which wins over run.json
    const planned = fakeRunFolder({
      seconds: steady(5, 10),
      fault: null,
      run: { slos: [{ indicator: "success-rate", objective: { min: 0.99 } }] },
      plan: {
        slos: [{ indicator: "success-rate", objective: { min: 1.01 } }],
        compare: { maxRegressionPct: { p50: 7 } },
      },
    });
    const judged = await renderRun(planned);
    expect(judged.slosFrom).toBe("plan.json");
    expect(judged.verdict.slos[0]).toMatchObject({ measured: 1, status: "fail" });
    expect(recordedCompareSettings(planned)).toEqual({ maxRegressionPct: { p50: 7 } });
  });

  it("exits 2 for a run that failed or was interrupted, whatever the SLOs", async () => {
    const dir = fakeRunFolder({ seconds: steady(5, 10), fault: null, status: "interrupted" });
    const r = await renderRun(dir, { slos: [] });
    expect(r.exitCode).toBe(2);
    const summary = readFileSync(r.files.summary, "utf8");
    expect(summary).toContain("The run did not complete (interrupted)");
    // Every output says so: no "all SLOs met" headline or exit code 0 for partial figures.
    expect(summary.split("\n")[0]).toMatch(/⛔ run interrupted, partial figures/);
    expect(summary).toContain("Exit code 2.");
    expect(JSON.parse(readFileSync(r.files.verdict, "utf8"))).toMatchObject({
      exitCode: 2,
      runStatus: "interrupted",
    });
    const junit = readFileSync(r.files.junit, "utf8");
    expect(junit).toMatch(
      /<testcase classname="posstorm\.[^"]+\.run" name="run completed"[^>]*>\s*<failure message="run interrupted"/,
    );
    expect(junit).toMatch(/<testsuites name="posstorm" tests="1" failures="1"/);
    expect(readFileSync(r.files.html, "utf8")).toContain('<span class="badge fail">RUN INTERRUPTED</span>');
  });

  it("re-renders a run of an older version, whose ledgers are collected/issuer-*.ledger.json, the same", async () => {
    const now = await renderRun(folder(), { slos: SLOS });
    const old = await renderRun(folder("json"), { slos: SLOS });
    expect(old.model.reconciliation).toEqual(now.model.reconciliation);
    expect(old.model.reconciliation).toMatchObject({ issuerSide: true, oneSided: 1, reversedAtIssuer: 1 });
    expect(old.verdict).toEqual(now.verdict);
  });

  it("is a harness failure naming the ledger that is cut short", async () => {
    const dir = folder();
    const file = join(dir, "collected", "issuer-a.ledger.ndjson.gz");
    writeFileSync(file, readFileSync(file).subarray(0, 20));
    const render = renderRun(dir, { slos: SLOS });
    await expect(render).rejects.toThrow(ReportError);
    await expect(render).rejects.toThrow(`an issuer ledger does not read: ${file}: cut short after line`);
  });

  it("is a harness failure without run.json, without any results, or with invalid SLOs", async () => {
    const empty = mkdtempSync(join(tmpdir(), "posstorm-empty-"));
    await expect(renderRun(empty)).rejects.toThrow(ReportError);
    await expect(renderRun(empty)).rejects.toThrow(/run\.json: no such file/);
    writeFileSync(join(empty, "run.json"), JSON.stringify({ runId: "x", status: "failed" }));
    await expect(renderRun(empty)).rejects.toThrow(/neither series\.json nor samples\.ndjson\.gz/);
    await expect(renderRun(join(empty, "nope"))).rejects.toThrow(/no such run folder/);
    const dir = fakeRunFolder({ seconds: steady(2, 1), fault: null });
    await expect(
      renderRun(dir, { slos: [{ indicator: "latency", objective: { max: 1 } } as never] }),
    ).rejects.toThrow(/slos\[0\]\.percentile/);
  });
});
