import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ReportModel } from "../model.ts";
import type { SpanStats } from "../stats.ts";
import {
  codeRows,
  formatBound,
  formatMargin,
  formatValue,
  percent,
  STATUS_LABEL,
  seconds,
} from "./format.ts";

// report.html: one self-contained file (no network access when opened). The charts are uPlot, inlined with its
// CSS: canvas rendering, ~50 KB minified, and it draws 100k+ points per chart without stalling — a 10-minute
// run at one point per second is small for it, a multi-hour soak still fine; SVG charting libraries (and
// Chart.js with its per-point objects) slow down by then and weigh several times more. Fault windows are shaded
// on every chart by a small uPlot plugin (a `drawClear` hook: rectangles under the series).

export interface HtmlAssets {
  uplotJs: string;
  uplotCss: string;
}

/** uPlot's minified IIFE build and CSS from node_modules. */
export function uplotAssets(): HtmlAssets {
  const require = createRequire(import.meta.url);
  const dist = join(dirname(require.resolve("uplot/package.json")), "dist");
  return {
    uplotJs: readFileSync(join(dist, "uPlot.iife.min.js"), "utf8"),
    uplotCss: readFileSync(join(dist, "uPlot.min.css"), "utf8"),
  };
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Text safe inside a <script> element. */
export const scriptSafe = (code: string) =>
  code.replace(/<\/script/gi, "<\\/script").replace(/<!--/g, "<\\!--");
/** JSON safe inside <script type="application/json">. */
const jsonSafe = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

const STYLE = `
:root { --fail: #b91c1c; --warn: #b45309; --pass: #15803d; --nodata: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; padding: 1.5rem; max-width: 1200px; color: #111827; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
.muted { color: #6b7280; } .badge { display: inline-block; padding: .1rem .6rem; border-radius: 999px; color: #fff; font-weight: 600; }
.badge.pass { background: var(--pass); } .badge.warn { background: var(--warn); } .badge.fail { background: var(--fail); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.fail td.status { color: var(--fail); font-weight: 700; } tr.warn td.status { color: var(--warn); font-weight: 600; }
tr.pass td.status { color: var(--pass); } tr.no-data td.status { color: var(--nodata); }
.detail { color: #4b5563; font-size: .85em; }
.charts { display: grid; grid-template-columns: 1fr; gap: 1rem; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: .5rem; min-height: 60px; }
.chart h3 { font-size: .95rem; margin: 0 0 .25rem; } .chart .note { color: #6b7280; font-size: .85em; }
.faults li { margin: .15rem 0; } .swatch { display: inline-block; width: .9em; height: .9em; background: rgba(220, 38, 38, .25); border: 1px solid rgba(153, 27, 27, .6); vertical-align: -.1em; margin-right: .3em; }
pre { background: #f9fafb; border: 1px solid var(--line); padding: .75rem; overflow: auto; font-size: 12px; }
.notes { background: #fffbeb; border-left: 3px solid var(--warn); padding: .5rem .75rem; }
`;

// Runs in the browser, before the report's and the live page's own code: series colours and the uPlot plugin
// that shades fault windows (`faults()` gives them at each draw, so a live page can change them).
export const CHART_KIT = `
var posstormChart = (function () {
  "use strict";
  var palette = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9f1239", "#475569", "#0d9488", "#a16207"];
  var fixed = { approved: "#16a34a", declined: "#d97706", "timeout.connect": "#dc2626", "timeout.response": "#991b1b", "timeout.idle": "#f87171",
    connect: "#dc2626", response: "#991b1b", idle: "#f87171", p50: "#16a34a", p95: "#d97706", p99: "#dc2626" };
  function colour(label, i) { return fixed[label] || palette[i % palette.length]; }
  function shading(faults) {
    return { hooks: { drawClear: [function (u) {
      var ctx = u.ctx, dpr = window.devicePixelRatio || 1;
      ctx.save();
      faults().forEach(function (f) {
        var x0 = u.valToPos(f.startS, "x", true), x1 = u.valToPos(f.endS, "x", true);
        var left = Math.max(u.bbox.left, Math.min(x0, x1));
        var right = Math.min(u.bbox.left + u.bbox.width, Math.max(x0, x1));
        if (right < left) return;
        ctx.fillStyle = "rgba(220, 38, 38, 0.12)";
        ctx.fillRect(left, u.bbox.top, Math.max(right - left, 2 * dpr), u.bbox.height);
        ctx.fillStyle = "rgba(153, 27, 27, 0.85)";
        ctx.font = (11 * dpr) + "px system-ui, sans-serif";
        ctx.fillText(f.name, left + 3 * dpr, u.bbox.top + 12 * dpr);
      });
      ctx.restore();
    }] } };
  }
  return { colour: colour, shading: shading };
})();
`;

// Runs in the browser: reads the embedded data and draws one uPlot chart per entry.
const CLIENT = `
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("posstorm-data").textContent);
  var colour = posstormChart.colour;
  var plots = [];
  data.charts.forEach(function (chart) {
    var el = document.getElementById("chart-" + chart.id);
    if (!el || chart.lines.length === 0 || data.x.length === 0) return;
    var box = el.querySelector(".plot");
    var opts = {
      width: Math.max(300, box.clientWidth || 800),
      height: 240,
      scales: { x: { time: false } },
      axes: [{ label: "seconds since load start" }, { label: chart.unit }],
      series: [{ label: "t (s)" }].concat(chart.lines.map(function (line, i) {
        // p99 dashed: with few samples a second it often equals p95, which stays visible under it
        return { label: line.label, stroke: colour(line.label, i), width: 1.5, dash: line.label === "p99" ? [6, 4] : undefined,
          spanGaps: !!line.spanGaps, points: { show: false } };
      })),
      plugins: [posstormChart.shading(function () { return data.faults; })]
    };
    var rows = [data.x].concat(chart.lines.map(function (line) { return line.values; }));
    plots.push({ plot: new uPlot(opts, rows, box), box: box });
  });
  var timer;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      plots.forEach(function (p) { p.plot.setSize({ width: Math.max(300, p.box.clientWidth), height: 240 }); });
    }, 150);
  });
})();
`;

const num = (text: string) => `<td class="num">${escapeHtml(text)}</td>`;
const td = (text: string) => `<td>${escapeHtml(text)}</td>`;

export function renderHtml(model: ReportModel, assets: HtmlAssets): string {
  const { run, verdict } = model;
  const title = `posstorm ${run.runId}`;
  const body: string[] = [];
  body.push(
    `<header><h1>${escapeHtml(title)} ${
      model.incomplete
        ? `<span class="badge fail">RUN ${escapeHtml(run.status.toUpperCase())}</span>`
        : `<span class="badge ${verdict.status}">${verdict.status.toUpperCase()}</span>`
    }${model.generator?.limited ? ' <span class="badge warn">GENERATOR-LIMITED</span>' : ""}</h1>`,
  );
  body.push(
    `<p class="muted">Profile <b>${escapeHtml(run.profile.name)}</b>${run.profile.description ? ` — ${escapeHtml(run.profile.description)}` : ""}. ` +
      `Run ${escapeHtml(run.status)}, load ${run.durationS} s from ${escapeHtml(run.loadStartedAt ?? "?")}, ` +
      `${model.total.all.attempts.toLocaleString("en-US")} operations. Exit code ${model.exitCode}.</p></header>`,
  );
  if (model.notes.length > 0) {
    body.push(`<div class="notes">${model.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join("")}</div>`);
  }

  body.push("<h2>Verdict</h2>");
  if (verdict.slos.length === 0) body.push('<p class="muted">No SLOs defined.</p>');
  else {
    body.push(
      '<table id="verdict"><thead><tr><th>SLO</th><th class="num">measured</th><th class="num">objective</th><th class="num">margin</th><th>status</th></tr></thead><tbody>',
    );
    for (const r of verdict.slos) {
      body.push(
        `<tr class="${r.status}"><td>${escapeHtml(r.description)}<div class="detail">${escapeHtml(r.id)} · ${escapeHtml(r.detail)}</div></td>` +
          num(formatValue(r.unit, r.measured)) +
          num(
            `${formatBound(r.unit, r.objective)}${r.warn ? ` (warn ${formatBound(r.unit, r.warn)})` : ""}`,
          ) +
          num(formatMargin(r.unit, r.margin)) +
          `<td class="status">${escapeHtml(STATUS_LABEL[r.status])}</td></tr>`,
      );
    }
    body.push("</tbody></table>");
  }

  body.push("<h2>Faults</h2>");
  if (model.charts.faults.length === 0) body.push('<p class="muted">No faults in this run.</p>');
  else {
    body.push('<ul class="faults">');
    for (const f of model.charts.faults) {
      const fault = model.faults.find((x) => x.name === f.name);
      body.push(
        `<li class="fault-window" data-fault-window="${escapeHtml(f.name)}"><span class="swatch"></span><b>${escapeHtml(f.name)}</b>: ` +
          `${escapeHtml(fault?.description ?? f.target ?? "")}, ${seconds(f.startS)}–${seconds(f.endS)} s` +
          `${fault && fault.status !== "cleared" ? ` (${escapeHtml(fault.status)})` : ""}</li>`,
      );
    }
    body.push("</ul>");
  }
  const conditions = model.faults.filter((f) => f.condition);
  if (conditions.length > 0) {
    body.push(
      `<p class="muted">Network conditions for the whole run (not shaded): ${conditions
        .map((f) => `${escapeHtml(f.name)}: ${escapeHtml(f.description)}`)
        .join("; ")}.</p>`,
    );
  }

  body.push('<h2>Charts</h2><div class="charts">');
  for (const chart of model.charts.charts) {
    const empty = chart.lines.length === 0 || model.charts.x.length === 0;
    body.push(
      `<div class="chart" id="chart-${escapeHtml(chart.id)}"><h3>${escapeHtml(chart.title)}</h3>` +
        `${chart.note ? `<div class="note">${escapeHtml(chart.note)}</div>` : ""}` +
        `${empty ? '<div class="note">no data</div>' : ""}<div class="plot"></div></div>`,
    );
  }
  body.push("</div>");

  body.push("<h2>Phases</h2>", phaseTable([...model.phases, model.total]));
  body.push("<h2>Operations (whole run)</h2>", operationTable(model.total));
  body.push("<h2>Response codes (whole run)</h2>", codeTable(model.codes));
  body.push("<h2>Reconciliation</h2>", reconciliationHtml(model));

  body.push("<footer><h2>Plan</h2>");
  body.push(
    model.plan === undefined
      ? '<p class="muted">No plan.json.</p>'
      : `<pre>${escapeHtml(JSON.stringify(model.plan, null, 2))}</pre>`,
  );
  body.push("<h2>Versions</h2><table><tbody>");
  for (const [k, v] of Object.entries(run.versions)) body.push(`<tr>${td(k)}${td(v)}</tr>`);
  body.push(
    `<tr>${td("series")}${td(`${model.series.slots} slots of ${model.series.stepS} s, ${model.series.points.toLocaleString("en-US")} samples`)}</tr>`,
  );
  body.push("</tbody></table></footer>");

  const chartPayload = { x: model.charts.x, faults: model.charts.faults, charts: model.charts.charts };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${assets.uplotCss}</style>
<style>${STYLE}</style>
</head>
<body>
${body.join("\n")}
<script id="posstorm-data" type="application/json">${jsonSafe(chartPayload)}</script>
<script>${scriptSafe(assets.uplotJs)}</script>
<script>${scriptSafe(CHART_KIT + CLIENT)}</script>
</body>
</html>
`;
}

function phaseTable(spans: SpanStats[]): string {
  const rows = spans.map((p) => {
    const a = p.all;
    return (
      `<tr>${td(p.name)}${num(`${seconds(p.startS)}–${seconds(p.endS)}`)}${num(a.attempts.toLocaleString("en-US"))}` +
      `${num(String(+a.opsPerS.toFixed(1)))}${num(percent(a.timeoutRate))}${num(percent(a.timeoutRateByKind.connect))}` +
      `${num(percent(a.timeoutRateByKind.response))}${num(percent(a.timeoutRateByKind.idle))}${num(percent(a.errorRate))}` +
      `${num(formatValue("ms", a.latencyMs?.p99))}</tr>`
    );
  });
  return (
    '<table><thead><tr><th>phase</th><th class="num">seconds</th><th class="num">operations</th><th class="num">ops/s</th>' +
    '<th class="num">timeout rate</th><th class="num">connect</th><th class="num">response</th><th class="num">idle</th>' +
    `<th class="num">error rate</th><th class="num">p99 (all)</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
  );
}

function operationTable(total: SpanStats): string {
  const rows = total.byOperation.map(
    (o) =>
      `<tr>${td(o.operation)}${num(o.attempts.toLocaleString("en-US"))}${num(percent(o.timeoutRate))}${num(percent(o.errorRate))}` +
      `${num(percent(o.successRate))}${num(formatValue("ms", o.latencyMs?.p50))}${num(formatValue("ms", o.latencyMs?.p95))}` +
      `${num(formatValue("ms", o.latencyMs?.p99))}${num(formatValue("ms", o.latencyMs?.max))}</tr>`,
  );
  return (
    '<table><thead><tr><th>operation</th><th class="num">operations</th><th class="num">timeout rate</th><th class="num">error rate</th>' +
    '<th class="num">success rate</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">max</th></tr></thead>' +
    `<tbody>${rows.join("")}</tbody></table>`
  );
}

function codeTable(codes: Record<string, Record<string, number>>): string {
  const rows = codeRows(codes);
  if (rows.length === 0) return '<p class="muted">No replies.</p>';
  const ops = Object.keys(codes);
  const head = ops.map((op) => `<th class="num">${escapeHtml(op)}</th>`).join("");
  const body = rows.map(
    (r) =>
      `<tr>${td(r.code)}${td(r.meaning)}${ops.map((op) => num(String(r.byOperation[op] ?? 0))).join("")}</tr>`,
  );
  return `<table><thead><tr><th>F39</th><th>meaning</th>${head}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

function reconciliationHtml(model: ReportModel): string {
  const rec = model.reconciliation;
  if (rec.oneSided === null) return `<p>One-sided transactions: unknown (${escapeHtml(rec.note ?? "")}).</p>`;
  const out = [
    `<p>One-sided transactions: <b>${rec.oneSided}</b> (issuer approved, never reversed, terminal did not see the approval) ` +
      `of ${rec.unsettled} purchase(s) the terminals did not see approved; ${rec.reversedAtIssuer} reversed at the issuer, ` +
      `${rec.notApprovedAtIssuer} never approved.</p>`,
  ];
  if (rec.first.length > 0) {
    out.push(
      '<table><thead><tr><th>issuer</th><th>TID</th><th>STAN</th><th>batch</th><th>PAN</th><th class="num">amount (minor)</th>' +
        '<th class="num">approved at</th><th>terminal reason</th></tr></thead><tbody>',
    );
    for (const t of rec.first) {
      out.push(
        `<tr>${td(t.issuer)}${td(t.tid)}${td(t.stan)}${td(t.batch)}${td(t.pan)}${num(String(t.amountMinor))}` +
          `${num(`${seconds(t.approvedAtS)} s`)}${td(t.terminalReason ?? "")}</tr>`,
      );
    }
    out.push("</tbody></table>");
  }
  const issuers = rec.issuers.map(
    (i) => `${i.issuer}: ${i.approved} approved, ${i.declined} declined, ${i.reversed} reversed`,
  );
  if (issuers.length > 0) out.push(`<p class="muted">Ledgers — ${escapeHtml(issuers.join("; "))}.</p>`);
  return out.join("\n");
}
