import { escapeHtml } from "../report/render/html.ts";
import { xmlEscape } from "../report/render/junit.ts";
import { writeReports } from "../run/many-runs.ts";
import { renderChainMarkdown } from "./chain.ts";
import type { Cell, TimeoutsResult } from "./timeouts.ts";

// The timeouts report from timeouts.json alone: summary.md (the static findings, then one table per figure with
// terminal timeouts as rows and switch timeouts as columns), verdict.json, junit.xml (one case per rule and one
// for the matrix) and report.html (the same grids as heatmaps: each cell coloured by its value).

interface Figure {
  id: string;
  title: string;
  value: (c: Cell) => number | null;
  format: (x: number | null) => string;
  /** Higher is worse (red) unless false. */
  worseHigh: boolean;
}

const pct = (x: number | null) => (x === null ? "–" : `${+(x * 100).toFixed(2)} %`);
const count = (x: number | null) => (x === null ? "–" : String(x));

export const FIGURES: Figure[] = [
  {
    id: "timeout-rate",
    title: "Purchase timeout rate",
    value: (c) => c.timeoutRate,
    format: pct,
    worseHigh: true,
  },
  {
    id: "one-sided",
    title: "One-sided transactions",
    value: (c) => c.oneSided,
    format: count,
    worseHigh: true,
  },
  {
    id: "reversals",
    title: "Reversals queued by terminals",
    value: (c) => c.reversals,
    format: count,
    worseHigh: true,
  },
  {
    id: "success",
    title: "Purchase success rate",
    value: (c) => c.successRate,
    format: pct,
    worseHigh: false,
  },
];

const cellAt = (r: TimeoutsResult, t: number, s: number) =>
  r.cells.find((c) => c.terminalMs === t && c.switchMs === s);
const isRecommended = (r: TimeoutsResult, c: Cell) =>
  r.recommended?.terminalMs === c.terminalMs && r.recommended?.switchMs === c.switchMs;

function markdownGrid(result: TimeoutsResult, figure: Figure): string[] {
  const lines = [
    `### ${figure.title}`,
    "",
    `| terminal ↓ / switch issuer → | ${result.switchMs.map((s) => `${s} ms`).join(" | ")} |`,
    `|---|${result.switchMs.map(() => "---:").join("|")}|`,
  ];
  for (const t of result.terminalMs) {
    const row = result.switchMs.map((s) => {
      const c = cellAt(result, t, s);
      if (!c) return "not run";
      const mark = `${c.inverted ? " ⚠" : ""}${isRecommended(result, c) ? " ★" : ""}`;
      return c.status === "error" ? "error" : `${figure.format(figure.value(c))}${mark}`;
    });
    lines.push(`| ${t} ms | ${row.join(" | ")} |`);
  }
  lines.push("");
  return lines;
}

export function renderTimeoutsMarkdown(result: TimeoutsResult): string {
  const lines = [`# posstorm timeouts ${result.id}`, ""];
  lines.push(`**${result.verdict.status.toUpperCase()}** — ${result.verdict.headline}`, "");
  for (const n of result.verdict.notes) lines.push(`> ${n}`, "");
  lines.push(
    `Profile \`${result.profile.name}\`: terminal response timeout ${result.own.terminalMs} ms, switch issuer timeout ${result.own.switchMs} ms.`,
    "",
    "## Static check of the profile's chain",
    "",
    renderChainMarkdown(result.findings),
    "",
  );
  if (result.cells.length > 0) {
    lines.push(
      "## Matrix",
      "",
      "Each cell is a whole run of the profile with those two settings (its own lab), in `cells/`. ⚠ inverted chain (terminal ≤ switch issuer timeout + margin); ★ recommended.",
      "",
    );
    for (const f of FIGURES) lines.push(...markdownGrid(result, f));
    lines.push("| cell | SLOs | failed | p99 ms | switch 98s | run folder |", "|---|---|---|---:|---:|---|");
    for (const c of result.cells)
      lines.push(
        `| ${c.terminalMs} × ${c.switchMs} | ${c.status} | ${c.failing.join(", ").replace(/\|/g, "\\|") || c.error || "–"} | ${c.p99Ms === null ? "–" : Math.round(c.p99Ms)} | ${c.switchTimeouts} | \`${c.dir}\` |`,
      );
    lines.push("");
  }
  return lines.join("\n");
}

export function renderTimeoutsVerdict(result: TimeoutsResult): string {
  return `${JSON.stringify(
    {
      id: result.id,
      profile: result.profile.name,
      status: result.verdict.status,
      exitCode: result.verdict.exitCode,
      headline: result.verdict.headline,
      notes: result.verdict.notes,
      own: result.own,
      findings: result.findings,
      recommended: result.recommended
        ? {
            terminalMs: result.recommended.terminalMs,
            switchMs: result.recommended.switchMs,
            timeoutRate: result.recommended.timeoutRate,
            chainMarginMs: result.recommended.chainMarginMs,
          }
        : null,
      cells: result.cells.map((c) => ({
        terminalMs: c.terminalMs,
        switchMs: c.switchMs,
        inverted: c.inverted,
        status: c.status,
        timeoutRate: c.timeoutRate,
        successRate: c.successRate,
        oneSided: c.oneSided,
        reversals: c.reversals,
        switchTimeouts: c.switchTimeouts,
        failing: c.failing,
        dir: c.dir,
      })),
    },
    null,
    2,
  )}\n`;
}

export function renderTimeoutsJUnit(result: TimeoutsResult): string {
  const cases = result.findings.map((f) => {
    const name = xmlEscape(f.rule);
    const text = xmlEscape(`${f.consequence} Fix: ${f.fix}`);
    return f.status === "fail"
      ? `    <testcase classname="posstorm.timeouts.chain" name="${name}"><failure message="${text}">${text}</failure></testcase>`
      : `    <testcase classname="posstorm.timeouts.chain" name="${name}"><system-out>${xmlEscape(f.status)}: ${text}</system-out></testcase>`;
  });
  if (result.cells.length > 0) {
    const ok = result.recommended !== undefined;
    const text = xmlEscape(result.verdict.headline);
    cases.push(
      ok
        ? `    <testcase classname="posstorm.timeouts" name="matrix"><system-out>${text}</system-out></testcase>`
        : `    <testcase classname="posstorm.timeouts" name="matrix"><failure message="${text}">${text}</failure></testcase>`,
    );
  }
  const failures = cases.filter((c) => c.includes("<failure")).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="posstorm" tests="${cases.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="posstorm.timeouts.${xmlEscape(result.profile.name)}" tests="${cases.length}" failures="${failures}" errors="0">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

/** A heatmap colour: green (best) to red (worst) over the grid's own range. */
function colour(value: number | null, min: number, max: number, worseHigh: boolean): string {
  if (value === null) return "#f3f4f6";
  const share = max > min ? (value - min) / (max - min) : 0;
  const bad = worseHigh ? share : 1 - share;
  const hue = Math.round(120 * (1 - bad));
  return `hsl(${hue} 70% 85%)`;
}

function htmlGrid(result: TimeoutsResult, figure: Figure): string {
  const values = result.cells.map(figure.value).filter((v): v is number => v !== null);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const head = result.switchMs.map((s) => `<th>${s} ms</th>`).join("");
  const rows = result.terminalMs
    .map((t) => {
      const cells = result.switchMs
        .map((s) => {
          const c = cellAt(result, t, s);
          if (!c) return "<td>not run</td>";
          const v = figure.value(c);
          const marks = `${c.inverted ? " ⚠" : ""}${isRecommended(result, c) ? " ★" : ""}`;
          return `<td class="num" style="background:${colour(v, min, max, figure.worseHigh)}" title="${escapeHtml(c.dir)}">${escapeHtml(c.status === "error" ? "error" : figure.format(v))}${marks}</td>`;
        })
        .join("");
      return `<tr><th>${t} ms</th>${cells}</tr>`;
    })
    .join("\n");
  return `<h3>${escapeHtml(figure.title)}</h3><table class="grid"><thead><tr><th>terminal ↓ / switch issuer →</th>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderTimeoutsHtml(result: TimeoutsResult): string {
  const badge = result.verdict.status === "pass" ? "pass" : "fail";
  const findings = result.findings
    .map(
      (f) =>
        `<tr class="${f.status}"><td class="status">${escapeHtml(f.status)}</td><td><code>${escapeHtml(f.rule)}</code></td><td>${escapeHtml(
          Object.entries(f.values)
            .map(([k, v]) => `${k}: ${v}`)
            .join("; "),
        )}</td><td>${escapeHtml(f.consequence)}</td><td>${escapeHtml(f.fix)}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>posstorm timeouts ${escapeHtml(result.id)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1.5rem; max-width: 1200px; color: #111827; }
.badge { display: inline-block; padding: .1rem .6rem; border-radius: 999px; color: #fff; font-weight: 600; }
.badge.pass { background: #15803d; } .badge.fail { background: #b91c1c; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; } th, td { border: 1px solid #e5e7eb; padding: .35rem .6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; min-width: 6rem; } tr.fail td.status { color: #b91c1c; font-weight: 700; } tr.warn td.status { color: #b45309; } tr.ok td.status { color: #15803d; }
</style></head><body>
<h1>posstorm timeouts ${escapeHtml(result.id)} <span class="badge ${badge}">${escapeHtml(result.verdict.status.toUpperCase())}</span></h1>
<p><strong>${escapeHtml(result.verdict.headline)}</strong></p>
${result.verdict.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join("\n")}
<h2>Static check</h2>
<table><thead><tr><th>status</th><th>rule</th><th>values</th><th>consequence</th><th>fix</th></tr></thead><tbody>
${findings}
</tbody></table>
${result.cells.length > 0 ? `<h2>Matrix</h2><p>Each cell is a whole run of the profile with those two settings (folder in the tooltip). ⚠ inverted chain; ★ recommended. Green is better, red worse, within each grid.</p>\n${FIGURES.map((f) => htmlGrid(result, f)).join("\n")}` : ""}
</body></html>
`;
}

export async function renderTimeouts(dir: string, result: TimeoutsResult) {
  return writeReports(dir, {
    verdict: renderTimeoutsVerdict(result),
    summary: renderTimeoutsMarkdown(result),
    junit: renderTimeoutsJUnit(result),
    html: renderTimeoutsHtml(result),
  });
}
