import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunSeries, readSeries } from "../report/index.ts";
import { type RunJson, readRunJson } from "../run-folder/index.ts";
import { isInterrupted, onShutdown } from "../shared/shutdown.ts";
import { NO_FIGURES } from "./figures.ts";
import type { RunOutcome } from "./run-profile.ts";
import { runStamp } from "./stamp.ts";

// The frame of a command that runs a profile many times into one folder (`posstorm capacity`, `posstorm
// timeouts`): the folder and its JSON kept current after every run, Ctrl-C turned into a partial report of the
// runs so far (each run's own cleanup, registered later, clears its faults and stops its lab first), and the
// verdict rendered and logged at the end.

export interface ManyRunsResult {
  status: "running" | "completed" | "interrupted";
  verdict: { headline: string; notes: string[] };
}

export interface ManyRunsOptions<R extends ManyRunsResult> {
  /** The command's folder; `subdir` (the runs' own folders) is made in it. */
  dir: string;
  subdir: string;
  /** The JSON file of `result`, rewritten by save(). */
  file: string;
  result: R;
  /** Fills the result's verdict from its runs (and its status). */
  finish: (result: R, status: "completed" | "interrupted") => void;
  render: (dir: string, result: R) => Promise<{ summary: string; html: string }>;
  log: (line: string) => void;
  /** The runs: `stopped()` is true once Ctrl-C came; `save()` after each run. */
  body: (stopped: () => boolean, save: () => void) => Promise<void>;
}

export async function manyRuns<R extends ManyRunsResult>(opts: ManyRunsOptions<R>): Promise<void> {
  const { dir, result, log } = opts;
  mkdirSync(join(dir, opts.subdir), { recursive: true });
  const save = () => writeFileSync(join(dir, opts.file), `${JSON.stringify(result, null, 2)}\n`);
  save();
  let interrupted = false;
  const unregister = onShutdown(async () => {
    interrupted = true;
    opts.finish(result, "interrupted");
    save();
    await opts.render(dir, result).catch((e: Error) => log(`partial report: ${e.message}`));
    log(`interrupted: partial report in ${dir}`);
  });
  try {
    await opts.body(() => interrupted, save);
  } finally {
    unregister();
  }
  // Ctrl-C ends the run in progress before this frame's own handler runs (newer cleanups go first): the body
  // returns then, and the handler writes the partial report, not this.
  if (interrupted || isInterrupted()) return;
  opts.finish(result, "completed");
  save();
  const files = await opts.render(dir, result);
  log(result.verdict.headline);
  for (const note of result.verdict.notes) log(note);
  log(`reports: ${files.summary}, ${files.html}`);
}

/** The folder of a command's runs: `<reports>/<profile>-<kind>-<time>`, and its id. */
export function manyRunsFolder(reportsDir: string, profile: string, kind: string, started: Date) {
  const id = `${profile}-${kind}-${runStamp(started)}`;
  return { id, dir: join(reportsDir, id) };
}

/** The four reports of a command's runs, each rendered from its result; returns their paths. */
export function writeReports(
  dir: string,
  rendered: { verdict: string; summary: string; junit: string; html: string },
): { verdict: string; summary: string; junit: string; html: string } {
  const files = {
    verdict: join(dir, "verdict.json"),
    summary: join(dir, "summary.md"),
    junit: join(dir, "junit.xml"),
    html: join(dir, "report.html"),
  };
  for (const key of Object.keys(files) as (keyof typeof files)[]) writeFileSync(files[key], rendered[key]);
  return files;
}

/** The figures of a run that did not complete: none, no SLO judged, and why. */
export function unfinished(error: string) {
  return { ...NO_FIGURES, status: "error" as const, failing: [] as string[], error };
}

/**
 * What one of the runs left to judge it by: its run.json, its series and the SLOs it failed; or why there is
 * nothing (it did not complete).
 */
export function finishedRun(
  outcome: RunOutcome,
): { run: RunJson; series: RunSeries; failing: string[] } | { error: string } {
  if (outcome.status !== "completed" || !outcome.verdict) return { error: outcome.error ?? outcome.status };
  return {
    run: readRunJson(outcome.runDir),
    series: readSeries(outcome.runDir),
    failing: outcome.verdict.slos.filter((r) => r.status === "fail").map((r) => r.id),
  };
}
