import { type Slo, validateSlos } from "./definitions.ts";

// A game day's rules, as data: the steady-state hypothesis (SLO-shaped probes that must hold before the
// first fault and after the last) and the abort conditions a run checks every second while its load goes.

/**
 * Stop the run when this is breached (faults cleared, load stopped, report written, exit 1):
 * - `timeout-rate` / `error-rate`: the share of operations that ended in the last `forS` seconds (complete
 *   seconds) as a timeout (`timeout.*`) or an error outcome (refused, reset, closed, protocol, mac) is above
 *   `above` (0.2 = 20 %), optionally for one operation;
 * - `reversal-abandoned`: a terminal gave up on a reversal (a purchase that may stay one-sided: the ledger
 *   check after the run says for sure);
 * - `program-down`: a lab program ended on its own (without it a run that loses one fails, exit 2).
 */
export type AbortCondition =
  | { kind: "timeout-rate" | "error-rate"; above: number; forS: number; operation?: "signin" | "purchase" }
  | { kind: "reversal-abandoned" }
  | { kind: "program-down" };

export interface GameDay {
  /** Probes (SLOs without a phase) that must hold in the baseline (before the first fault) and in the last recovery. */
  steadyState?: Slo[];
  /** Any one breached stops the run. */
  abortWhen?: AbortCondition[];
}

export function describeAbort(c: AbortCondition): string {
  if (c.kind === "reversal-abandoned") return "a reversal abandoned (a possible one-sided transaction)";
  if (c.kind === "program-down") return "a lab program down";
  const what = c.kind === "timeout-rate" ? "timeout rate" : "error rate";
  return `${what}${c.operation ? ` of ${c.operation}` : ""} above ${+(c.above * 100).toFixed(3)} % over ${c.forS} s`;
}

/** Every problem of a profile's gameDay, each naming its path; empty when none. */
export function validateGameDay(raw: unknown, path = "gameDay"): string[] {
  if (raw === undefined) return [];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return [`${path}: must be an object`];
  const g = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(g))
    if (key !== "steadyState" && key !== "abortWhen")
      problems.push(`${path}.${key}: not a game-day setting (steadyState, abortWhen)`);
  problems.push(...validateSlos(g.steadyState, `${path}.steadyState`));
  if (Array.isArray(g.steadyState))
    g.steadyState.forEach((probe: { scope?: { phase?: unknown } }, i) => {
      if (probe?.scope?.phase !== undefined)
        problems.push(
          `${path}.steadyState[${i}].scope.phase: a probe has no phase (it is checked in the baseline and the last recovery)`,
        );
    });
  if (g.abortWhen !== undefined) {
    if (!Array.isArray(g.abortWhen)) problems.push(`${path}.abortWhen: must be a list of conditions`);
    else
      g.abortWhen.forEach((c: Record<string, unknown>, i) => {
        const at = `${path}.abortWhen[${i}]`;
        if (c?.kind === "reversal-abandoned" || c?.kind === "program-down") return;
        if (c?.kind !== "timeout-rate" && c?.kind !== "error-rate") {
          problems.push(
            `${at}.kind: ${JSON.stringify(c?.kind)} must be one of timeout-rate, error-rate, reversal-abandoned, program-down`,
          );
          return;
        }
        if (typeof c.above !== "number" || !(c.above >= 0 && c.above < 1))
          problems.push(`${at}.above: ${JSON.stringify(c.above)} must be a fraction in [0, 1) (0.2 = 20 %)`);
        if (typeof c.forS !== "number" || !Number.isInteger(c.forS) || c.forS < 1 || c.forS > 120)
          problems.push(`${at}.forS: ${JSON.stringify(c.forS)} must be a whole number of seconds, 1 to 120`);
        if (c.operation !== undefined && c.operation !== "signin" && c.operation !== "purchase")
          problems.push(`${at}.operation: ${JSON.stringify(c.operation)} must be signin or purchase`);
      });
  }
  return problems;
}

/** Outcomes an error-rate condition counts. */
export const ERROR_OUTCOME_NAMES: readonly string[] = ["refused", "reset", "closed", "protocol", "mac"];

/**
 * Whether a rate condition is breached by the operations that ended in the window, by outcome: the share
 * and the count, or undefined when the window has no operation.
 */
export function rateBreach(
  c: Extract<AbortCondition, { forS: number }>,
  byOutcome: ReadonlyMap<string, number>,
): { share: number; events: number; ops: number; breached: boolean } | undefined {
  let ops = 0;
  let events = 0;
  for (const [outcome, n] of byOutcome) {
    ops += n;
    const counts =
      c.kind === "timeout-rate" ? outcome.startsWith("timeout.") : ERROR_OUTCOME_NAMES.includes(outcome);
    if (counts) events += n;
  }
  if (ops === 0) return undefined;
  const share = events / ops;
  return { share, events, ops, breached: share > c.above };
}
