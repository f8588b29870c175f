import type { ReportModel } from "../model.ts";
import type { SpanStats } from "../stats.ts";
import {
  codeRows,
  formatBound,
  formatMargin,
  formatValue,
  percent,
  STATUS_ICON,
  STATUS_LABEL,
  seconds,
} from "./format.ts";

// summary.md: fits a CI step summary ($GITHUB_STEP_SUMMARY): the verdict table first, then figures per phase,
// reconciliation and faults. Only formats the model.

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
const row = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
const table = (head: string[], rows: string[][], align?: string[]) =>
  [row(head), `| ${(align ?? head.map(() => "---")).join(" | ")} |`, ...rows.map(row)].join("\n");

const VERDICT_HEADLINE = {
  pass: "✅ all SLOs met",
  warn: "⚠️ SLOs met, with warnings",
  fail: "❌ SLO breached",
};

export function renderSummaryMarkdown(model: ReportModel): string {
  const { run, verdict } = model;
  const out: string[] = [];
  const headline = model.incomplete
    ? `⛔ run ${run.status}, partial figures (SLOs on them: ${verdict.status})`
    : VERDICT_HEADLINE[verdict.status];
  const limited = model.generator?.limited ? " — ⚠️ generator-limited" : "";
  out.push(`## posstorm ${run.runId}: ${headline}${limited}`);
  out.push("");
  const description = run.profile.description ? ` (${run.profile.description})` : "";
  out.push(
    `Profile **${run.profile.name}**${description}. Run ${run.status}; load ${run.durationS} s, ` +
      `${model.total.all.attempts.toLocaleString("en-US")} operations. Exit code ${model.exitCode}.`,
  );
  for (const note of model.notes) out.push("", `> ${note}`);
  out.push("");
  if (verdict.slos.length > 0) {
    out.push(
      table(
        ["SLO", "measured", "objective", "margin", "status"],
        verdict.slos.map((r) => [
          `${r.description}${r.detail ? `<br><sub>${r.detail}</sub>` : ""}`,
          formatValue(r.unit, r.measured),
          `${formatBound(r.unit, r.objective)}${r.warn ? ` (warn ${formatBound(r.unit, r.warn)})` : ""}`,
          formatMargin(r.unit, r.margin),
          `${STATUS_ICON[r.status]} ${STATUS_LABEL[r.status]}`,
        ]),
        ["---", "---:", "---:", "---:", "---"],
      ),
    );
    out.push("");
  }

  out.push("### Phases", "");
  const spans = [...model.phases, model.total];
  out.push(
    table(
      [
        "phase",
        "seconds",
        "operations",
        "ops/s",
        "timeout rate",
        "connect",
        "response",
        "idle",
        "error rate",
        "p99",
      ],
      spans.map((p) => phaseRow(p)),
      ["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
    ),
  );
  out.push("");
  const ops = model.total.byOperation;
  if (ops.length > 0) {
    out.push("### Operations (whole run)", "");
    out.push(
      table(
        ["operation", "operations", "timeout rate", "error rate", "success rate", "p50", "p95", "p99", "max"],
        ops.map((o) => [
          o.operation,
          o.attempts.toLocaleString("en-US"),
          percent(o.timeoutRate),
          percent(o.errorRate),
          percent(o.successRate),
          formatValue("ms", o.latencyMs?.p50),
          formatValue("ms", o.latencyMs?.p95),
          formatValue("ms", o.latencyMs?.p99),
          formatValue("ms", o.latencyMs?.max),
        ]),
        ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
      ),
    );
    out.push("");
  }

  const journal = model.journal;
  if (journal) {
    out.push("### Journal", "", `**${journal.verdict}**: ${journal.reason}.`, "");
    const probes = (label: string, part: (typeof journal.hypothesis)["before"]) => {
      if (part.probes.length === 0) return;
      const window = part.window
        ? `${part.window.startS.toFixed(1)}–${part.window.endS.toFixed(1)} s`
        : "no such window";
      out.push(
        `Steady state ${label} (${window}): ${part.probes.map((p) => `${p.id} ${p.status} (${p.detail})`).join("; ")}.`,
        "",
      );
    };
    probes("before the first fault", journal.hypothesis.before);
    probes("after the last fault", journal.hypothesis.after);
    if (journal.actions.length > 0) {
      out.push(
        table(
          ["at (s)", "by", "action", "what"],
          journal.actions.map((a) => [a.atS.toFixed(1), a.by, a.action, `${a.name}: ${a.description}`]),
          ["---:", "---", "---", "---"],
        ),
        "",
      );
    }
  }

  const codes = codeRows(model.codes);
  if (codes.length > 0) {
    const ops = Object.keys(model.codes);
    out.push("### Response codes (whole run)", "");
    out.push(
      table(
        ["F39", "meaning", ...ops],
        codes.map((r) => [
          r.code,
          r.meaning,
          ...ops.map((op) => (r.byOperation[op] ?? 0).toLocaleString("en-US")),
        ]),
        ["---", "---", ...ops.map(() => "---:")],
      ),
    );
    out.push("");
  }

  const rec = model.reconciliation;
  out.push("### Reconciliation", "");
  if (rec.oneSided === null) out.push(`One-sided transactions: unknown (${rec.note}).`);
  else {
    out.push(
      `One-sided transactions: **${rec.oneSided}** (issuer approved, never reversed, terminal did not see the approval), ` +
        `of ${rec.unsettled} purchase(s) the terminals did not see approved: ${rec.reversedAtIssuer} reversed at the issuer, ` +
        `${rec.notApprovedAtIssuer} never approved.`,
    );
    if (rec.first.length > 0) {
      out.push("");
      out.push(
        table(
          ["issuer", "TID", "STAN", "batch", "PAN", "amount (minor)", "approved at", "terminal reason"],
          rec.first.map((t) => [
            t.issuer,
            t.tid,
            t.stan,
            t.batch,
            t.pan,
            String(t.amountMinor),
            `${seconds(t.approvedAtS)} s`,
            t.terminalReason ?? "",
          ]),
        ),
      );
    }
  }
  out.push("");
  if (model.faults.length > 0) {
    out.push("### Faults", "");
    out.push(
      table(
        ["fault", "what", "planned", "applied", "cleared", "status"],
        model.faults.map((f) => [
          f.condition ? `${f.name} (whole-run network condition)` : f.name,
          f.description,
          `${f.plannedAtS}–${f.plannedAtS + f.plannedForS} s`,
          f.appliedAtS === undefined ? "–" : `${seconds(f.appliedAtS)} s`,
          f.clearedAtS === undefined ? "–" : `${seconds(f.clearedAtS)} s`,
          `${f.status}${f.error ? `: ${f.error}` : ""}`,
        ]),
      ),
    );
    out.push("");
  }
  return `${out.join("\n")}\n`;
}

function phaseRow(p: SpanStats): string[] {
  const a = p.all;
  const purchase = p.byOperation.find((o) => o.operation === "purchase");
  const p99 = (purchase ?? a).latencyMs?.p99;
  return [
    p.name,
    `${seconds(p.startS)}–${seconds(p.endS)}`,
    a.attempts.toLocaleString("en-US"),
    String(+a.opsPerS.toFixed(1)),
    percent(a.timeoutRate),
    percent(a.timeoutRateByKind.connect),
    percent(a.timeoutRateByKind.response),
    percent(a.timeoutRateByKind.idle),
    percent(a.errorRate),
    `${formatValue("ms", p99)}${purchase ? " (purchase)" : ""}`,
  ];
}
