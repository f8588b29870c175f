import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasRunFile, type PlanJson, RunFolderError, readPlanJson, readRunJson } from "../run-folder/index.ts";
import { aggregateFile, k6ResultsOf, SAMPLES_FILE } from "./aggregate.ts";
import { buildModel, type ReportModel, type RunJson } from "./model.ts";
import { type Reconciliation, reconcileRun, terminalSideOf } from "./reconcile.ts";
import { renderHtml, uplotAssets } from "./render/html.ts";
import { renderVerdictJson } from "./render/json.ts";
import { renderJUnit } from "./render/junit.ts";
import { renderSummaryMarkdown } from "./render/markdown.ts";
import { type RunSeries, readSeries, SERIES_FILE, writeSeries } from "./series.ts";
import { type Slo, type Verdict, validateSlos } from "./slo.ts";

// `posstorm report <run-dir>`: read the run folder, evaluate, write verdict.json, summary.md, junit.xml and
// report.html (and series.json when it had to aggregate k6-results.json.gz).

/** A run folder that cannot be reported on: exit code 2. */
export class ReportError extends Error {
  override readonly name = "ReportError";
}

export interface RenderOptions {
  /** SLOs to judge by (default: those run.json recorded, else the profile file's `slos`). */
  slos?: readonly Slo[];
  /** Aggregate k6-results.json.gz again even when series.json exists. */
  reaggregate?: boolean;
}

export interface RenderedRun {
  verdict: Verdict;
  model: ReportModel;
  /** Paths of the files written. */
  files: { verdict: string; summary: string; junit: string; html: string; series: string };
  /** 0 SLOs met, 1 an SLO breached, 2 the run itself failed or was interrupted. */
  exitCode: 0 | 1 | 2;
  /** Where the SLOs came from. */
  slosFrom: "options" | "plan.json" | "run.json" | "none";
}

export const REPORT_FILES = {
  verdict: "verdict.json",
  summary: "summary.md",
  junit: "junit.xml",
  html: "report.html",
  journal: "journal.json",
} as const;

/**
 * The run's series: series.json, or the raw samples (samples.ndjson.gz; k6-results.json.gz of runs made before the
 * fleet engine) aggregated (and, with `save`, written as series.json when the folder is writable).
 */
export async function seriesOf(
  runDir: string,
  { reaggregate = false, save = true }: { reaggregate?: boolean; save?: boolean } = {},
): Promise<RunSeries> {
  if (!reaggregate && existsSync(join(runDir, SERIES_FILE))) {
    try {
      return readSeries(runDir);
    } catch (error) {
      throw new ReportError(`${join(runDir, SERIES_FILE)}: ${(error as Error).message}`);
    }
  }
  if (!existsSync(join(runDir, SAMPLES_FILE)) && !k6ResultsOf(runDir)) {
    throw new ReportError(`${runDir}: neither ${SERIES_FILE} nor ${SAMPLES_FILE}: the fleet did not run`);
  }
  const series = await aggregateFile(runDir);
  if (save) {
    try {
      writeSeries(runDir, series);
    } catch {
      // a read-only run folder (a CI artifact): aggregate again next time
    }
  }
  return series;
}

/** SLOs for a run: its plan's (plan.json; run.json for runs of earlier versions). Never the profile file. */
export function slosOf(
  run: RunJson,
  plan: PlanJson | undefined,
): { slos: readonly Slo[]; from: RenderedRun["slosFrom"] } {
  const [slos, from]: [readonly Slo[], RenderedRun["slosFrom"]] = Array.isArray(plan?.slos)
    ? [plan.slos, "plan.json"]
    : Array.isArray(run.slos)
      ? [run.slos, "run.json"]
      : [[], "none"];
  const problems = validateSlos(slos);
  if (problems.length > 0) throw new ReportError(`${from}: ${problems.join("; ")}`);
  return { slos, from };
}

export async function renderRun(runDir: string, options: RenderOptions = {}): Promise<RenderedRun> {
  if (!existsSync(runDir)) throw new ReportError(`${runDir}: no such run folder`);
  const run = readRunFile(() => readRunJson(runDir));
  const plan = hasRunFile(runDir, "plan") ? readRunFile(() => readPlanJson(runDir)) : undefined;
  const series = await seriesOf(runDir, { reaggregate: options.reaggregate ?? false });
  let reconciliation: Reconciliation;
  try {
    reconciliation = await reconcileRun(runDir, terminalSideOf(series), series.loadStartMs);
  } catch (error) {
    throw new ReportError(`an issuer ledger does not read: ${(error as Error).message}`);
  }
  let slos: readonly Slo[];
  let slosFrom: RenderedRun["slosFrom"];
  if (options.slos) {
    const problems = validateSlos(options.slos);
    if (problems.length > 0) throw new ReportError(problems.join("; "));
    slos = options.slos;
    slosFrom = "options";
  } else ({ slos, from: slosFrom } = slosOf(run, plan));

  const model = buildModel({ run, ...(plan ? { plan } : {}), series, reconciliation, slos });
  const files = {
    verdict: join(runDir, REPORT_FILES.verdict),
    summary: join(runDir, REPORT_FILES.summary),
    junit: join(runDir, REPORT_FILES.junit),
    html: join(runDir, REPORT_FILES.html),
    series: join(runDir, SERIES_FILE),
  };
  writeFileSync(files.verdict, renderVerdictJson(model));
  writeFileSync(files.summary, renderSummaryMarkdown(model));
  writeFileSync(files.junit, renderJUnit(model));
  writeFileSync(files.html, renderHtml(model, uplotAssets()));
  if (model.journal)
    writeFileSync(join(runDir, REPORT_FILES.journal), `${JSON.stringify(model.journal, null, 2)}\n`);
  return {
    verdict: model.verdict,
    model,
    files,
    exitCode: model.exitCode,
    slosFrom,
  };
}

/** A run folder's file read for the report: a missing or broken one is a ReportError naming it. */
export function readRunFile<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof RunFolderError) throw new ReportError(error.message);
    throw error;
  }
}
