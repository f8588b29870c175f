import type { ReportModel } from "../model.ts";

// verdict.json: the verdict and the figures behind it for machines (CI, dashboards, `posstorm compare`).
// Charts and the plan stay in report.html and plan.json.

export const VERDICT_JSON_VERSION = 1;

export function renderVerdictJson(model: ReportModel): string {
  const { run, verdict } = model;
  return `${JSON.stringify(
    {
      version: VERDICT_JSON_VERSION,
      runId: run.runId,
      profile: run.profile.name,
      runStatus: run.status,
      status: verdict.status,
      exitCode: model.exitCode,
      ...(model.generator ? { generator: model.generator } : {}),
      counts: verdict.counts,
      slos: verdict.slos,
      phases: model.phases,
      total: model.total,
      reconciliation: model.reconciliation,
      faults: model.faults,
      versions: run.versions,
      notes: model.notes,
    },
    null,
    2,
  )}\n`;
}
