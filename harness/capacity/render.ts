import { escapeHtml, uplotAssets } from "../report/render/html.ts";
import { xmlEscape } from "../report/render/junit.ts";
import { writeReports } from "../run/many-runs.ts";
import type { CapacityResult, CapacityStep } from "./capacity.ts";

// The capacity report, from capacity.json alone: summary.md (the answer, the curve as a table, what saturated
// per step), verdict.json (the answer and the gate), junit.xml (one case for the gate, one per step) and
// report.html (the curve: rate against p50/p99, timeout rate and success, and the resources' busy fractions).
// Each step's own run folder (steps/NN-<rate>ps/) has its full run report and raw samples.

const OP_NAME = { signin: "sign-ins", purchase: "purchases" } as const;
const pct = (x: number | null) => (x === null ? "–" : `${+(x * 100).toFixed(2)} %`);
const ms = (x: number | null) => (x === null ? "–" : `${Math.round(x)}`);
const perS = (x: number | null) => (x === null ? "–" : `${Math.round(x)}`);
const cell = (text: string) => text.replace(/\|/g, "\\|");

/** Steps by rate (ascending), repeats in the order run: the curve. */
export const curveOf = (steps: readonly CapacityStep[]) =>
  [...steps].sort((a, b) => a.rate - b.rate || a.index - b.index);

/** The knee: the first step (by rate) where p99 more than doubled against the step before, if any. */
export function kneeOf(steps: readonly CapacityStep[]): CapacityStep | undefined {
  const curve = curveOf(steps).filter((s) => s.p99Ms !== null && s.status !== "error");
  for (let i = 1; i < curve.length; i++) {
    const before = curve[i - 1]!.p99Ms!;
    if (curve[i]!.p99Ms! > 2 * Math.max(1, before)) return curve[i];
  }
  return undefined;
}

export function renderCapacityMarkdown(result: CapacityResult): string {
  const op = OP_NAME[result.operation];
  const lines: string[] = [];
  lines.push(`# posstorm capacity ${result.id}`, "");
  lines.push(`**${result.verdict.status.toUpperCase()}** — ${result.verdict.headline}`, "");
  for (const note of result.verdict.notes) lines.push(`> ${note}`, "");
  const knee = kneeOf(result.steps);
  lines.push(
    `Profile \`${result.profile.name}\`; ${op} (open model), each step ${result.window.warmupS} s warm-up (not judged) + ${result.window.steadyS} s judged, a fresh lab per step; search from ${result.search.startRate}/s, ×${result.search.factor} up, bisection to ${result.search.precision * 100} %, boundary repeated ${result.search.repeats}×; stopped: ${result.stoppedBy ?? result.status}.`,
    "",
  );
  if (knee) lines.push(`Knee: p99 more than doubled at ${knee.rate}/s (step ${knee.index}).`, "");
  if (result.sloLeftOut.length > 0)
    lines.push(`SLOs left out (they need a fault): ${result.sloLeftOut.join(", ")}.`, "");
  lines.push("## Curve", "");
  lines.push(
    `| step | why | rate /s | done /s | p50 ms | p99 ms | timeouts | success | verdict | saturated | run folder |`,
    `|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|`,
  );
  for (const s of curveOf(result.steps)) {
    const why =
      s.status === "fail"
        ? `FAIL: ${s.failing.join(", ")}`
        : s.status === "inconclusive"
          ? `INCONCLUSIVE: ${s.generator.join("; ")}`
          : s.status === "error"
            ? `ERROR: ${s.error}`
            : "pass";
    const saturated = s.resources
      .filter((r) => r.saturated)
      .map((r) => `${r.resource} (${r.signal})`)
      .join("; ");
    lines.push(
      `| ${s.index} | ${s.purpose} | ${s.rate} | ${perS(s.throughput)} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${pct(s.timeoutRate)} | ${pct(s.successRate)} | ${cell(why)} | ${cell(saturated || "–")} | \`${s.dir}\` |`,
    );
  }
  lines.push("", "## Resources per step", "");
  const resources = [...new Set(result.steps.flatMap((s) => s.resources.map((r) => r.resource)))];
  if (resources.length > 0) {
    lines.push(`| rate /s | ${resources.join(" | ")} |`, `|---:|${resources.map(() => "---").join("|")}|`);
    for (const s of curveOf(result.steps)) {
      const row = resources.map((name) => {
        const r = s.resources.find((x) => x.resource === name);
        return r ? cell(`${r.saturated ? "**SATURATED** " : ""}${r.signal}`) : "–";
      });
      lines.push(`| ${s.rate} | ${row.join(" | ")} |`);
    }
    lines.push(
      "",
      "Busy: mean over the judged window (HSM utilisation; issuer in flight / workers). Queue: mean of the window's first half → second half. CPU: cores. Saturated: busy ≥ 0.9, a queue that grew (second half ≥ 3 and ≥ first half + 1), or CPU ≥ 0.9 of its cores.",
    );
  } else lines.push("No lab metrics were scraped (a switch posstorm did not start).");
  lines.push("");
  return lines.join("\n");
}

export function renderCapacityVerdict(result: CapacityResult): string {
  return `${JSON.stringify(
    {
      id: result.id,
      profile: result.profile.name,
      operation: result.operation,
      status: result.verdict.status,
      exitCode: result.verdict.exitCode,
      headline: result.verdict.headline,
      notes: result.verdict.notes,
      capacity: result.capacity,
      band: result.band ?? null,
      minRate: result.minRate ?? null,
      stoppedBy: result.stoppedBy ?? null,
      saturatedFirst: result.saturated ?? null,
      knee: kneeOf(result.steps)?.rate ?? null,
      steps: curveOf(result.steps).map((s) => ({
        index: s.index,
        rate: s.rate,
        status: s.status,
        throughput: s.throughput,
        p50Ms: s.p50Ms,
        p99Ms: s.p99Ms,
        timeoutRate: s.timeoutRate,
        successRate: s.successRate,
        failing: s.failing,
        generator: s.generator,
        saturated: s.resources.filter((r) => r.saturated).map((r) => r.resource),
        dir: s.dir,
      })),
    },
    null,
    2,
  )}\n`;
}

export function renderCapacityJUnit(result: CapacityResult): string {
  const cases: string[] = [];
  const gate = result.verdict;
  const gateCase =
    gate.status === "pass"
      ? `    <testcase classname="posstorm.capacity" name="capacity"><system-out>${xmlEscape(gate.headline)}</system-out></testcase>`
      : `    <testcase classname="posstorm.capacity" name="capacity"><failure message="${xmlEscape(gate.headline)}">${xmlEscape([gate.headline, ...gate.notes].join("\n"))}</failure></testcase>`;
  cases.push(gateCase);
  for (const s of curveOf(result.steps)) {
    const name = `step ${s.index} ${s.rate}/s`;
    const text = `${s.status}: p99 ${ms(s.p99Ms)} ms, timeouts ${pct(s.timeoutRate)}, success ${pct(s.successRate)}`;
    // A failing step is the search working, not a test failure: only errors and inconclusive steps are flagged.
    cases.push(
      s.status === "error" || s.status === "inconclusive"
        ? `    <testcase classname="posstorm.capacity.steps" name="${xmlEscape(name)}"><skipped message="${xmlEscape(`${s.status}: ${s.error ?? s.generator.join("; ")}`)}"/></testcase>`
        : `    <testcase classname="posstorm.capacity.steps" name="${xmlEscape(name)}"><system-out>${xmlEscape(text)}</system-out></testcase>`,
    );
  }
  const failures = gate.status === "pass" ? 0 : 1;
  const skipped = result.steps.filter((s) => s.status === "error" || s.status === "inconclusive").length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="posstorm" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    `  <testsuite name="posstorm.capacity.${xmlEscape(result.profile.name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

interface CurveChart {
  id: string;
  title: string;
  unit: string;
  lines: { label: string; values: (number | null)[] }[];
}

/** The curve as chart data: x = offered rate, one point per step. */
export function capacityCharts(result: CapacityResult): { x: number[]; charts: CurveChart[] } {
  const curve = curveOf(result.steps).filter((s) => s.status !== "error");
  const x = curve.map((s) => s.rate);
  const resources = [...new Set(curve.flatMap((s) => s.resources.map((r) => r.resource)))];
  return {
    x,
    charts: [
      {
        id: "latency",
        title: "Latency against offered rate",
        unit: "ms",
        lines: [
          { label: "p50", values: curve.map((s) => s.p50Ms) },
          { label: "p99", values: curve.map((s) => s.p99Ms) },
        ],
      },
      {
        id: "rates",
        title: "Timeout rate and success against offered rate",
        unit: "%",
        lines: [
          {
            label: "timeouts %",
            values: curve.map((s) => (s.timeoutRate === null ? null : s.timeoutRate * 100)),
          },
          {
            label: "success %",
            values: curve.map((s) => (s.successRate === null ? null : s.successRate * 100)),
          },
        ],
      },
      {
        id: "throughput",
        title: "Done per second against offered rate",
        unit: "/s",
        lines: [
          { label: "offered", values: x },
          { label: "done", values: curve.map((s) => s.throughput) },
        ],
      },
      {
        id: "resources",
        title: "Busy fraction (HSM, issuers) and CPU cores (every program, the machine)",
        unit: "fraction / cores",
        lines: resources.map((name) => ({
          label: name,
          values: curve.map((s) => {
            const r = s.resources.find((x) => x.resource === name);
            return r ? (r.busy ?? r.cores) : null;
          }),
        })),
      },
    ],
  };
}

const CLIENT = `
(function () {
  var data = JSON.parse(document.getElementById("capacity-data").textContent);
  var palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#475569"];
  var fixed = { p50: "#16a34a", p99: "#dc2626", "timeouts %": "#dc2626", "success %": "#16a34a", offered: "#6b7280", done: "#2563eb" };
  data.charts.forEach(function (chart) {
    var box = document.querySelector("#chart-" + chart.id + " .plot");
    if (!box || data.x.length === 0 || chart.lines.length === 0) return;
    new uPlot({
      width: Math.max(300, box.clientWidth || 800), height: 260,
      scales: { x: { time: false } },
      axes: [{ label: "offered rate (/s)" }, { label: chart.unit }],
      series: [{ label: "rate" }].concat(chart.lines.map(function (line, i) {
        return { label: line.label, stroke: fixed[line.label] || palette[i % palette.length], width: 1.5, points: { show: true, size: 6 } };
      }))
    }, [data.x].concat(chart.lines.map(function (l) { return l.values; })), box);
  });
})();
`;

export function renderCapacityHtml(result: CapacityResult): string {
  const assets = uplotAssets();
  const data = capacityCharts(result);
  const markdownTable = renderCapacityMarkdown(result);
  const badge =
    result.verdict.status === "pass" ? "pass" : result.verdict.status === "fail" ? "fail" : "warn";
  const rows = curveOf(result.steps)
    .map(
      (s) =>
        `<tr class="${s.status === "pass" ? "pass" : s.status === "fail" ? "fail" : "warn"}"><td class="num">${s.index}</td><td class="num">${s.rate}</td><td class="num">${perS(s.throughput)}</td><td class="num">${ms(s.p50Ms)}</td><td class="num">${ms(s.p99Ms)}</td><td class="num">${pct(s.timeoutRate)}</td><td class="num">${pct(s.successRate)}</td><td class="status">${escapeHtml(s.status)}</td><td>${escapeHtml(
          [
            ...s.failing,
            ...s.generator,
            ...(s.error ? [s.error] : []),
            ...s.resources.filter((r) => r.saturated).map((r) => `saturated: ${r.resource} (${r.signal})`),
          ].join("; "),
        )}</td><td><a href="${escapeHtml(s.dir)}/report.html">${escapeHtml(s.dir)}</a></td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>posstorm capacity ${escapeHtml(result.id)}</title>
<style>${assets.uplotCss}
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1.5rem; max-width: 1200px; color: #111827; }
.badge { display: inline-block; padding: .1rem .6rem; border-radius: 999px; color: #fff; font-weight: 600; }
.badge.pass { background: #15803d; } .badge.warn { background: #b45309; } .badge.fail { background: #b91c1c; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; } th, td { border-bottom: 1px solid #e5e7eb; padding: .3rem .5rem; text-align: left; }
td.num { text-align: right; } tr.fail td.status { color: #b91c1c; font-weight: 700; } tr.warn td.status { color: #b45309; } tr.pass td.status { color: #15803d; }
.chart { border: 1px solid #e5e7eb; border-radius: 6px; padding: .5rem; margin: .75rem 0; } .chart h3 { font-size: .95rem; margin: 0 0 .25rem; }
pre { background: #f9fafb; border: 1px solid #e5e7eb; padding: .75rem; overflow: auto; font-size: 12px; }
</style></head><body>
<h1>posstorm capacity ${escapeHtml(result.id)} <span class="badge ${badge}">${escapeHtml(result.verdict.status.toUpperCase())}</span></h1>
<p><strong>${escapeHtml(result.verdict.headline)}</strong></p>
${result.verdict.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join("\n")}
${data.charts.map((c) => `<div class="chart" id="chart-${c.id}"><h3>${escapeHtml(c.title)}</h3><div class="plot"></div></div>`).join("\n")}
<h2>Steps</h2>
<table><thead><tr><th>step</th><th>rate /s</th><th>done /s</th><th>p50 ms</th><th>p99 ms</th><th>timeouts</th><th>success</th><th>verdict</th><th>why</th><th>run</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Summary (Markdown)</h2>
<pre>${escapeHtml(markdownTable)}</pre>
<script type="application/json" id="capacity-data">${JSON.stringify(data).replace(/</g, "\\u003c")}</script>
<script>${assets.uplotJs.replace(/<\/script/gi, "<\\/script")}</script>
<script>${CLIENT}</script>
</body></html>
`;
}

export async function renderCapacity(dir: string, result: CapacityResult) {
  return writeReports(dir, {
    verdict: renderCapacityVerdict(result),
    summary: renderCapacityMarkdown(result),
    junit: renderCapacityJUnit(result),
    html: renderCapacityHtml(result),
  });
}
