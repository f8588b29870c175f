import { RESPONSE_CODES } from "../../protocol/index.ts";
import type { Bound, SloResult, SloStatus, Unit } from "../slo.ts";

// Numbers as people read them, shared by every renderer.

const sig = (x: number, digits = 3) => (x === 0 ? "0" : String(+x.toPrecision(digits)));

export function percent(x: number | null | undefined): string {
  if (x === null || x === undefined) return "–";
  return `${sig(x * 100)} %`;
}

export function formatValue(unit: Unit, x: number | null | undefined): string {
  if (x === null || x === undefined) return "–";
  switch (unit) {
    case "ratio":
      return percent(x);
    case "ms":
      return `${Math.round(x).toLocaleString("en-US")} ms`;
    case "s":
      return `${+x.toFixed(1)} s`;
    case "count":
      return String(x);
  }
}

/** Margin with its sign: `+0.5 pp`, `−120 ms`. */
export function formatMargin(unit: Unit, margin: number | null): string {
  if (margin === null) return "–";
  const sign = margin > 0 ? "+" : margin < 0 ? "−" : "±";
  const m = Math.abs(margin);
  switch (unit) {
    case "ratio":
      return `${sign}${sig(m * 100)} pp`;
    case "ms":
      return `${sign}${Math.round(m).toLocaleString("en-US")} ms`;
    case "s":
      return `${sign}${+m.toFixed(1)} s`;
    case "count":
      return `${sign}${m}`;
  }
}

export function formatBound(unit: Unit, bound: Bound | undefined): string {
  if (!bound) return "–";
  const parts: string[] = [];
  if (bound.min !== undefined) parts.push(`≥ ${formatValue(unit, bound.min)}`);
  if (bound.max !== undefined) parts.push(`≤ ${formatValue(unit, bound.max)}`);
  return parts.join(", ") || "–";
}

export const STATUS_LABEL: Record<SloStatus, string> = {
  pass: "pass",
  warn: "warn",
  fail: "FAIL",
  "no-data": "no data",
};

export const STATUS_ICON: Record<SloStatus, string> = {
  pass: "✅",
  warn: "⚠️",
  fail: "❌",
  "no-data": "❔",
};

/** `measured 3.2 % > objective ≤ 1 % (margin −2.2 pp): 32 of 1000 attempts`. */
export function sloSentence(r: SloResult): string {
  if (r.measured === null) return `no data: ${r.detail}`;
  const head = `measured ${formatValue(r.unit, r.measured)}, objective ${formatBound(r.unit, r.objective)}, margin ${formatMargin(r.unit, r.margin)}`;
  const warn = r.warn ? `, warning level ${formatBound(r.unit, r.warn)}` : "";
  return `${head}${warn}: ${r.detail}`;
}

export const seconds = (s: number) => `${+s.toFixed(1)}`;

/**
 * The response codes of a run, one row each with its meaning (the protocol's table) and its count per
 * operation: a code such as 40 (terminal software too old) counts apart from every other decline.
 */
export function codeRows(
  codes: Record<string, Record<string, number>>,
): { code: string; meaning: string; byOperation: Record<string, number> }[] {
  const all = [...new Set(Object.values(codes).flatMap((c) => Object.keys(c)))].sort();
  return all.map((code) => ({
    code,
    meaning: RESPONSE_CODES[code]?.meaning ?? "not in the protocol's table",
    byOperation: Object.fromEntries(Object.entries(codes).map(([op, byCode]) => [op, byCode[code] ?? 0])),
  }));
}
