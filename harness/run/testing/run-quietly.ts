import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunJson } from "../../run-folder/index.ts";
import { type RunOptions, type RunOutcome, runProfile } from "../run-profile.ts";

// `posstorm run` of a profile file for a test: no live line, its log kept, its run.json and verdict.json read.

export interface QuietRun {
  outcome: RunOutcome;
  run: RunJson;
  /** verdict.json (absent when the run did not complete). */
  verdict?: { phases: { name: string; all: { latencyMs: { p50: number } | null } }[] };
  /** The run's log lines, joined. */
  log: string;
}

export async function runQuietly(profile: string, options: Partial<RunOptions> = {}): Promise<QuietRun> {
  const lines: string[] = [];
  const outcome = await runProfile({
    ...options,
    profile,
    reportsDir: mkdtempSync(join(tmpdir(), "posstorm-test-run-")),
    live: false,
    log: (line) => lines.push(line),
  });
  const read = (file: string) => JSON.parse(readFileSync(join(outcome.runDir, file), "utf8"));
  let verdict: QuietRun["verdict"];
  try {
    verdict = read("verdict.json");
  } catch {
    verdict = undefined;
  }
  return { outcome, run: read("run.json"), ...(verdict ? { verdict } : {}), log: lines.join("\n") };
}

/** The p50 latency of a phase of the run (`baseline`, `fault:<name>`), ms. */
export function phaseP50(run: QuietRun, phase: string): number | undefined {
  return run.verdict?.phases.find((p) => p.name === phase)?.all.latencyMs?.p50;
}
