import { join, relative } from "node:path";
import { type CompiledRun, loadProfile } from "../profile/compile.ts";
import { ProfileError } from "../profile/validate.ts";
import { type OperationFigures, operationFigures } from "../run/figures.ts";
import { finishedRun, manyRuns, manyRunsFolder, unfinished } from "../run/many-runs.ts";
import { runCompiled } from "../run/run-profile.ts";
import { type ChainFinding, chainInputOf, checkTimeoutChain, switchBudgetsMs } from "./chain.ts";
import { renderTimeouts } from "./render.ts";

// `posstorm timeouts <profile>`: the static check of the profile's timeout chain (chain.ts), then a matrix of
// runs over the terminal's response timeout × the switch's issuer timeout, each cell a whole run of the profile
// (its load, faults and SLOs; a fresh lab) with those two settings, in cells/<terminal>x<switch>/. The
// recommended setting is the cell that meets the SLOs with no one-sided transaction and the lowest timeout rate.

export const TIMEOUTS_FILE = "timeouts.json";
export const CELLS_DIR = "cells";

export interface TimeoutsOptions {
  profile: string;
  reportsDir: string;
  /** Terminal response timeouts to try, ms (default: the profile's, halved and doubled). */
  terminalMs?: number[];
  /** Switch issuer timeouts to try, ms (default: the profile's, halved and doubled). */
  switchMs?: number[];
  /** The static check only: no runs. */
  staticOnly?: boolean;
  runtime?: "containers" | "local";
  segments?: number;
  log?: (line: string) => void;
}

export interface Cell extends OperationFigures {
  terminalMs: number;
  switchMs: number;
  /** The chain's own rule for this cell: terminal > switch budget (issuer timeout + margin). */
  inverted: boolean;
  /** terminal − switch budget, ms: negative when inverted. */
  chainMarginMs: number;
  status: "pass" | "fail" | "error";
  /** SLOs that failed. */
  failing: string[];
  /** Issuer approvals the terminal never saw and that were never reversed (null: a side was missing). */
  oneSided: number | null;
  /** Reversals the terminals queued (a purchase they did not see answered). */
  reversals: number;
  /** Purchases the switch answered 98 (its issuer timeout). */
  switchTimeouts: number;
  /** The cell's run folder, relative to the timeouts folder. */
  dir: string;
  error?: string;
}

export interface TimeoutsResult {
  id: string;
  profile: { name: string; file: string };
  startedAt: string;
  endedAt?: string;
  status: "running" | "completed" | "interrupted";
  /** The profile's own settings. */
  own: { terminalMs: number; switchMs: number };
  findings: ChainFinding[];
  terminalMs: number[];
  switchMs: number[];
  cells: Cell[];
  recommended?: Cell;
  verdict: { status: "pass" | "fail"; exitCode: 0 | 1 | 2; headline: string; notes: string[] };
}

/** The profile's value, halved and doubled, rounded to 100 ms, distinct, ascending. */
export const around = (ms: number) =>
  [...new Set([ms / 2, ms, ms * 2].map((x) => Math.max(100, Math.round(x / 100) * 100)))].sort(
    (a, b) => a - b,
  );

function switchIssuerTimeoutMs(compiled: CompiledRun): number {
  return chainInputOf(compiled.terminal, compiled.lab ?? {}).switch.issuerTimeoutMs;
}

/** The profile compiled with one cell's two settings. */
export function cellRun(compiled: CompiledRun, terminalMs: number, switchMs: number): CompiledRun {
  const lab = compiled.lab ?? {};
  // A cell is judged by its SLOs and outcomes: a game day's abort conditions would end it early.
  const { gameDay: _gameDay, ...run } = compiled;
  return {
    ...run,
    terminal: { ...compiled.terminal, responseTimeoutMs: terminalMs },
    lab: { ...lab, switch: { ...(lab.switch ?? {}), issuerTimeoutMs: switchMs } },
  };
}

export async function runTimeouts(opts: TimeoutsOptions): Promise<TimeoutsResult & { dir: string }> {
  const log = opts.log ?? ((line: string) => console.log(`[timeouts] ${line}`));
  const { compiled, file } = await loadProfile(opts.profile);
  if (compiled.target && !opts.staticOnly)
    throw new ProfileError(file, [
      "the timeout matrix sets the reference switch's issuer timeout: it needs the lab, not `target` (use --static-only)",
    ]);
  const own = { terminalMs: compiled.terminal.responseTimeoutMs, switchMs: switchIssuerTimeoutMs(compiled) };
  const terminalMs = sortedDistinct(opts.terminalMs ?? around(own.terminalMs), "--terminal");
  const switchMs = sortedDistinct(opts.switchMs ?? around(own.switchMs), "--switch");
  const findings = checkTimeoutChain(chainInputOf(compiled.terminal, compiled.lab ?? {}));
  const started = new Date();
  const { id, dir } = manyRunsFolder(opts.reportsDir, compiled.profile.name, "timeouts", started);
  const result: TimeoutsResult = {
    id,
    profile: { name: compiled.profile.name, file },
    startedAt: started.toISOString(),
    status: "running",
    own,
    findings,
    terminalMs: opts.staticOnly ? [] : terminalMs,
    switchMs: opts.staticOnly ? [] : switchMs,
    cells: [],
    verdict: { status: "fail", exitCode: 2, headline: "running", notes: [] },
  };
  for (const f of findings)
    log(
      `${f.status.toUpperCase().padEnd(4)} ${f.rule}${f.status === "ok" ? "" : `: ${f.consequence} Fix: ${f.fix}`}`,
    );
  await manyRuns({
    dir,
    subdir: CELLS_DIR,
    file: TIMEOUTS_FILE,
    result,
    finish,
    render: renderTimeouts,
    log,
    body: async (stopped, save) => {
      if (opts.staticOnly) return;
      const total = terminalMs.length * switchMs.length;
      log(
        `matrix: ${terminalMs.length} terminal × ${switchMs.length} switch timeouts = ${total} runs of ~${compiled.durationS} s → ${dir}`,
      );
      for (const t of terminalMs) {
        for (const s of switchMs) {
          if (stopped()) return;
          const cell = await runCell(compiled, t, s, dir, opts);
          result.cells.push(cell);
          save();
          log(describeCell(cell, result.cells.length, total));
        }
      }
    },
  });
  return { ...result, dir };
}

function sortedDistinct(values: number[], flag: string): number[] {
  const bad = values.filter((v) => !(Number.isFinite(v) && v > 0));
  if (bad.length > 0 || values.length === 0)
    throw new Error(
      `timeouts: ${flag} takes milliseconds above 0, comma-separated (got ${values.join(",") || "nothing"})`,
    );
  return [...new Set(values.map(Math.round))].sort((a, b) => a - b);
}

async function runCell(
  compiled: CompiledRun,
  terminalMs: number,
  switchMs: number,
  dir: string,
  opts: TimeoutsOptions,
): Promise<Cell> {
  const run = cellRun(compiled, terminalMs, switchMs);
  const budget = switchBudgetsMs(chainInputOf(run.terminal, run.lab ?? {}).switch).purchase;
  const outcome = await runCompiled(run, {
    reportsDir: join(dir, CELLS_DIR),
    runId: `t${terminalMs}-s${switchMs}`,
    live: false,
    ...(opts.runtime ? { runtime: opts.runtime } : {}),
    ...(opts.segments !== undefined ? { segments: opts.segments } : {}),
    log: () => undefined,
  });
  const base = {
    terminalMs,
    switchMs,
    inverted: terminalMs <= budget,
    chainMarginMs: terminalMs - budget,
    dir: relative(dir, outcome.runDir),
  };
  const finished = finishedRun(outcome);
  if ("error" in finished) {
    return {
      ...base,
      ...unfinished(finished.error),
      oneSided: null,
      reversals: 0,
      switchTimeouts: 0,
    };
  }
  const { run: facts, series, failing } = finished;
  return {
    ...base,
    ...operationFigures(series, "purchase", { warmupS: 0, steadyS: compiled.durationS }),
    status: failing.length > 0 ? "fail" : "pass",
    failing,
    oneSided: outcome.reconciliation?.oneSided ?? null,
    reversals: facts.outcomes?.reversals.queued ?? 0,
    switchTimeouts: facts.outcomes?.byCode.purchase?.["98"] ?? 0,
  };
}

const pct = (x: number | null) => (x === null ? "–" : `${+(x * 100).toFixed(2)} %`);

function describeCell(cell: Cell, n: number, total: number): string {
  return `cell ${n}/${total}: terminal ${cell.terminalMs} ms × switch ${cell.switchMs} ms${cell.inverted ? " (inverted)" : ""}: ${cell.status.toUpperCase()}${
    cell.error ? ` (${cell.error})` : ""
  }; purchase timeouts ${pct(cell.timeoutRate)}, success ${pct(cell.successRate)}, one-sided ${cell.oneSided ?? "–"}, reversals ${cell.reversals}, switch 98s ${cell.switchTimeouts}${
    cell.failing.length > 0 ? `; failed: ${cell.failing.join(", ")}` : ""
  }`;
}

/** The cell that meets the SLOs with no one-sided transaction and the lowest timeout rate (then the shortest timeouts). */
export function recommend(cells: readonly Cell[]): Cell | undefined {
  return cells
    .filter((c) => c.status === "pass" && c.oneSided === 0)
    .sort(
      (a, b) =>
        (a.timeoutRate ?? 1) - (b.timeoutRate ?? 1) || a.terminalMs - b.terminalMs || a.switchMs - b.switchMs,
    )[0];
}

export function finish(result: TimeoutsResult, status: TimeoutsResult["status"]): void {
  result.status = status;
  result.endedAt = new Date().toISOString();
  const recommended = recommend(result.cells);
  if (recommended) result.recommended = recommended;
  const notes: string[] = [];
  const failed = result.findings.filter((f) => f.status === "fail");
  for (const f of failed) notes.push(`static check: ${f.rule}: ${f.consequence} Fix: ${f.fix}`);
  const errors = result.cells.filter((c) => c.status === "error");
  if (errors.length > 0)
    notes.push(
      `${errors.length} cell(s) did not complete: ${errors.map((c) => `${c.dir}: ${c.error}`).join("; ")}`,
    );
  const inverted = result.cells.filter((c) => c.inverted && (c.oneSided ?? 0) > 0);
  if (inverted.length > 0)
    notes.push(
      `one-sided transactions in the inverted cell(s): ${inverted.map((c) => `${c.terminalMs} × ${c.switchMs}`).join(", ")}`,
    );
  const recommendation = recommended
    ? `recommended: terminal ${recommended.terminalMs} ms × switch issuer ${recommended.switchMs} ms (timeout rate ${pct(recommended.timeoutRate)}, 0 one-sided, SLOs met; chain margin ${recommended.chainMarginMs} ms)`
    : result.cells.length > 0
      ? "no cell met the SLOs with zero one-sided transactions"
      : "static check only";
  const ownStatic =
    failed.length > 0
      ? `the profile's chain fails ${failed.length} rule(s)`
      : "the profile's chain passes the static check";
  const headline = `timeouts: ${ownStatic}; ${recommendation}`;
  const bad = failed.length > 0 || (result.cells.length > 0 && !recommended);
  if (status !== "completed" || errors.length > 0)
    result.verdict = {
      status: "fail",
      exitCode: 2,
      headline,
      notes: [...notes, ...(status !== "completed" ? ["interrupted: the cells so far are reported"] : [])],
    };
  else result.verdict = { status: bad ? "fail" : "pass", exitCode: bad ? 1 : 0, headline, notes };
}
