import type { CompareRow, Comparison, RegressionMetric } from "../compare.ts";
import { formatValue, percent } from "./format.ts";

// The regression table of `posstorm compare`, as aligned text for a terminal or Markdown for a CI summary.

const value = (metric: RegressionMetric, x: number | null) => {
  if (x === null) return "–";
  if (metric === "timeoutRate" || metric === "errorRate") return percent(x);
  if (metric === "throughput") return `${+x.toFixed(2)}/s`;
  return formatValue("ms", x);
};

const change = (r: CompareRow) => {
  if (r.changePct === null) return "–";
  if (!Number.isFinite(r.changePct)) return r.changePct > 0 ? "+∞ %" : "−∞ %";
  const sign = r.changePct > 0 ? "+" : r.changePct < 0 ? "−" : "±";
  return `${sign}${+Math.abs(r.changePct).toFixed(1)} %`;
};

const STATUS = { ok: "ok", regressed: "REGRESSED", "n/a": "n/a" } as const;

function cells(c: Comparison): string[][] {
  return c.rows.map((r) => [
    r.operation,
    r.metric,
    value(r.metric, r.base),
    value(r.metric, r.current),
    change(r),
    r.maxRegressionPct === undefined ? "–" : `${r.maxRegressionPct} %`,
    STATUS[r.status],
  ]);
}

const HEAD = ["operation", "metric", "base", "current", "change", "max regression", "status"];

export function renderComparisonText(c: Comparison): string {
  const rows = [HEAD, ...cells(c)];
  const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i >= 2 && i <= 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ");
  const regressed = c.rows.filter((r) => r.status === "regressed").length;
  return [
    `base ${c.base.runId}  →  current ${c.current.runId}`,
    "",
    line(HEAD),
    line(widths.map((w) => "-".repeat(w))),
    ...cells(c).map(line),
    "",
    c.status === "pass"
      ? `pass: no regression beyond its threshold${c.thresholds.length === 0 ? " (no thresholds given)" : ""}`
      : `FAIL: ${regressed} regression(s) beyond their threshold`,
    "",
  ].join("\n");
}

export function renderComparisonMarkdown(c: Comparison): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const row = (r: string[]) => `| ${r.map(esc).join(" | ")} |`;
  return [
    `## posstorm compare: ${c.status === "pass" ? "✅ no regression" : "❌ regression"}`,
    "",
    `Base \`${c.base.runId}\` → current \`${c.current.runId}\`.`,
    "",
    row(HEAD),
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ...cells(c).map(row),
    "",
  ].join("\n");
}
