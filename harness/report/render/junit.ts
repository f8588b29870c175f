import type { ReportModel } from "../model.ts";
import { formatBound, formatMargin, formatValue, sloSentence } from "./format.ts";

// junit.xml: one test case per SLO. A breach is a <failure> whose message carries the numbers; a warning
// passes with the numbers in <system-out>; an SLO without data is <skipped>.

/** Escapes text for XML content and attribute values; drops characters XML 1.0 does not allow. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const attrs = (a: Record<string, string | number>) =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join("");

export function renderJUnit(model: ReportModel): string {
  const { run, verdict } = model;
  const generator = model.generator;
  const tests = verdict.slos.length + (model.incomplete ? 1 : 0) + (generator ? 1 : 0);
  const failures = verdict.counts.fail + (model.incomplete ? 1 : 0) + (generator?.limited ? 1 : 0);
  const skipped = verdict.counts["no-data"];
  const suite = `posstorm.${run.profile.name}`;
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(`<testsuites${attrs({ name: "posstorm", tests, failures, errors: 0, skipped })}>`);
  lines.push(
    `  <testsuite${attrs({
      name: suite,
      tests,
      failures,
      errors: 0,
      skipped,
      time: run.durationS,
      ...(run.loadStartedAt ? { timestamp: run.loadStartedAt.replace(/\.\d+Z$/, "") } : {}),
    })}>`,
  );
  lines.push("    <properties>");
  for (const [name, value] of Object.entries({
    runId: run.runId,
    runStatus: run.status,
    verdict: verdict.status,
    ...Object.fromEntries(Object.entries(run.versions).map(([k, v]) => [`version.${k}`, v])),
  })) {
    lines.push(`      <property${attrs({ name, value })}/>`);
  }
  lines.push("    </properties>");
  if (model.incomplete) {
    // A run that did not complete fails CI whatever its partial figures say.
    const message = `run ${run.status}${run.error ? `: ${run.error}` : ""}`;
    lines.push(
      `    <testcase${attrs({ classname: `${suite}.run`, name: "run completed", time: run.durationS })}>`,
      `      <failure${attrs({ message, type: "run-incomplete" })}>${xmlEscape(message)}</failure>`,
      "    </testcase>",
    );
  }
  if (generator) {
    // A generator that could not keep its schedule measured itself: CI should see it.
    const open = `    <testcase${attrs({ classname: `${suite}.run`, name: "generator kept up", time: 0 })}>`;
    if (generator.limited) {
      const message = `generator-limited: ${generator.reasons.join("; ")}`;
      lines.push(
        open,
        `      <failure${attrs({ message, type: "generator-limited" })}>${xmlEscape(message)}</failure>`,
        "    </testcase>",
      );
    } else {
      lines.push(open, "    </testcase>");
    }
  }
  for (const r of verdict.slos) {
    const open = `    <testcase${attrs({ classname: `${suite}.slo`, name: r.id, time: 0 })}`;
    const sentence = sloSentence(r);
    switch (r.status) {
      case "pass":
        lines.push(
          `${open}>`,
          `      <system-out>${xmlEscape(`${r.description}: ${sentence}`)}</system-out>`,
          "    </testcase>",
        );
        break;
      case "warn":
        lines.push(
          `${open}>`,
          `      <system-out>${xmlEscape(`WARNING ${r.description}: ${sentence}`)}</system-out>`,
          "    </testcase>",
        );
        break;
      case "no-data":
        lines.push(
          `${open}>`,
          `      <skipped${attrs({ message: `no data: ${r.detail}` })}/>`,
          "    </testcase>",
        );
        break;
      case "fail": {
        const message =
          `${r.description}: measured ${formatValue(r.unit, r.measured)}, objective ${formatBound(r.unit, r.objective)}, ` +
          `margin ${formatMargin(r.unit, r.margin)}`;
        lines.push(
          `${open}>`,
          `      <failure${attrs({ message, type: "slo-breach" })}>${xmlEscape(sentence)}</failure>`,
          "    </testcase>",
        );
        break;
      }
    }
  }
  lines.push("  </testsuite>", "</testsuites>");
  return `${lines.join("\n")}\n`;
}
