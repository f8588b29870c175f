import {
  type ClosedFleet,
  DEFAULT_TERMINAL,
  type OpenFleet,
  type PopulationFleet,
  RUN_PLAN_VERSION,
  type RunPlan,
  type TerminalSettings,
} from "./plan.ts";
import { softwareMixProblems } from "./schedule.ts";

// Checks a run plan before any terminal starts (runFleet, and the profile's compilation before any lab comes
// up). Missing terminal settings take DEFAULT_TERMINAL's values. Pure.

/** Input of {@link resolvePlan}: a plan whose terminal settings may be partial. */
export type RunPlanInput = Omit<RunPlan, "terminal"> & {
  terminal?: Partial<Omit<TerminalSettings, "retry">> & { retry?: Partial<TerminalSettings["retry"]> };
};

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** True for 127.0.0.0/8, ::1 and localhost: where posstorm sends load without --allow-remote. */
export const isLoopback = (host: string): boolean => LOOPBACK.test(host);
const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
const isNum = (v: unknown, min: number): v is number =>
  typeof v === "number" && Number.isFinite(v) && v >= min;

/**
 * The plan with terminal defaults filled in, or an Error listing every problem (`plan.fleet.vus: 0 is not
 * …`). A target outside loopback is refused unless `target.allowRemote` is true.
 */
export function resolvePlan(input: RunPlanInput): RunPlan {
  const { plan, problems } = checkPlan(input);
  if (problems.length > 0) throw new Error(`run plan rejected:\n  ${problems.join("\n  ")}`);
  return plan;
}

/** The plan with terminal defaults filled in, and every problem found (`plan.fleet.vus: 0 is not …`). */
export function checkPlan(input: RunPlanInput): { plan: RunPlan; problems: string[] } {
  const problems: string[] = [];
  const bad = (path: string, value: unknown, expected: string) =>
    problems.push(`plan.${path}: ${JSON.stringify(value)} is not ${expected}`);

  if (input?.version !== RUN_PLAN_VERSION) bad("version", input?.version, `${RUN_PLAN_VERSION}`);
  if (typeof input?.runId !== "string" || input.runId === "")
    bad("runId", input?.runId, "a non-empty string");
  const target = input?.target;
  if (typeof target?.host !== "string" || target.host === "") bad("target.host", target?.host, "a host");
  else if (!isLoopback(target.host) && target.allowRemote !== true) {
    bad("target.host", target.host, "a loopback address (set target.allowRemote to load a remote switch)");
  }
  if (!isInt(target?.port, 1, 65535)) bad("target.port", target?.port, "a port (1-65535)");
  if (typeof input?.labKeyHex !== "string" || !/^[0-9A-Fa-f]{32}$/.test(input.labKeyHex)) {
    bad("labKeyHex", input?.labKeyHex, "32 hex digits");
  }
  if (!isNum(input?.durationS, 0) || input.durationS <= 0) bad("durationS", input?.durationS, "a number > 0");

  const t: TerminalSettings = {
    ...DEFAULT_TERMINAL,
    ...input?.terminal,
    retry: { ...DEFAULT_TERMINAL.retry, ...input?.terminal?.retry },
  };
  checkTerminal(t, bad);
  const fleet = input?.fleet;
  if (fleet?.model === "population") checkPopulation(fleet, t, bad);
  else if (fleet?.model === "open") checkOpen(fleet, t, bad);
  else if (fleet?.model === "closed") checkClosed(fleet, t, bad);
  else
    bad("fleet.model", (fleet as { model?: unknown } | undefined)?.model, `"population", "open" or "closed"`);

  return { plan: { ...input, terminal: t } as RunPlan, problems };
}

type Bad = (path: string, value: unknown, expected: string) => void;

function checkTerminal(t: TerminalSettings, bad: Bad): void {
  if (typeof t.tidPrefix !== "string" || t.tidPrefix.length < 1 || t.tidPrefix.length > 7) {
    bad("terminal.tidPrefix", t.tidPrefix, "1-7 characters");
  } else {
    if (!isInt(t.firstTid, 0)) bad("terminal.firstTid", t.firstTid, "a whole number >= 0");
    if (!isInt(t.count, 1)) bad("terminal.count", t.count, "a whole number >= 1");
    const digits = 8 - t.tidPrefix.length;
    if (isInt(t.firstTid, 0) && isInt(t.count, 1) && String(t.firstTid + t.count - 1).length > digits) {
      bad(
        "terminal.count",
        t.count,
        `within ${digits} digits after prefix ${t.tidPrefix} from ${t.firstTid}`,
      );
    }
  }
  if (typeof t.merchantId !== "string" || t.merchantId.length !== 15) {
    bad("terminal.merchantId", t.merchantId, "15 characters (F42)");
  }
  if (t.mode !== "short" && t.mode !== "long") bad("terminal.mode", t.mode, `"short" or "long"`);
  for (const key of ["tpdu", "header", "replyField60", "adoptBatch", "replyField63"] as const) {
    if (typeof t[key] !== "boolean") bad(`terminal.${key}`, t[key], "true or false");
  }
  if (t.field60Parts !== 3 && t.field60Parts !== 5) bad("terminal.field60Parts", t.field60Parts, "3 or 5");
  if (t.stanAtSignIn !== "continue" && t.stanAtSignIn !== "restart")
    bad("terminal.stanAtSignIn", t.stanAtSignIn, `"continue" or "restart"`);
  if (t.software !== undefined) {
    const problems = softwareMixProblems(t.software, "software");
    if (problems.length > 0) bad("terminal.software", t.software, `a software mix (${problems.join("; ")})`);
  }
  if (typeof t.tpduDestination !== "string" || !/^\d{4}$/.test(t.tpduDestination))
    bad("terminal.tpduDestination", t.tpduDestination, "4 digits (the NII)");
  if (typeof t.headerVersion !== "string" || !/^\d{2}$/.test(t.headerVersion))
    bad("terminal.headerVersion", t.headerVersion, "2 digits");
  for (const name of ["connectTimeoutMs", "responseTimeoutMs", "echoIntervalMs", "idleTimeoutMs"] as const) {
    if (!isInt(t[name], 1)) bad(`terminal.${name}`, t[name], "a whole number of ms >= 1");
  }
  if (!["001", "003", "004"].includes(t.keyLayout)) bad("terminal.keyLayout", t.keyLayout, "001, 003 or 004");
  if (!["cup-ecb", "x9.19", "x9.19-ascii"].includes(t.macAlgorithm)) {
    bad("terminal.macAlgorithm", t.macAlgorithm, "cup-ecb, x9.19 or x9.19-ascii");
  }
  if (!isInt(t.reversalAttempts, 1))
    bad("terminal.reversalAttempts", t.reversalAttempts, "a whole number >= 1");
  const r = t.retry;
  if (!["none", "fixed", "exponential", "immediate"].includes(r.policy)) {
    bad("terminal.retry.policy", r.policy, "none, fixed, exponential or immediate");
  }
  if (!isInt(r.maxAttempts, 1)) bad("terminal.retry.maxAttempts", r.maxAttempts, "a whole number >= 1");
  if (!isNum(r.delayMs, 0)) bad("terminal.retry.delayMs", r.delayMs, "ms >= 0");
  if (!isNum(r.maxDelayMs, 0)) bad("terminal.retry.maxDelayMs", r.maxDelayMs, "ms >= 0");
  if (!Array.isArray(t.cards) || t.cards.length === 0) bad("terminal.cards", t.cards, "a non-empty list");
  else {
    t.cards.forEach((card, i) => {
      if (typeof card?.pan !== "string" || !/^\d{12,19}$/.test(card.pan)) {
        bad(`terminal.cards[${i}].pan`, "(masked)", "12-19 digits as a string");
      }
      if (!isNum(card?.weight, 0)) bad(`terminal.cards[${i}].weight`, card?.weight, "a number >= 0");
    });
    if (t.cards.reduce((sum, c) => sum + (isNum(c?.weight, 0) ? c.weight : 0), 0) <= 0) {
      bad("terminal.cards", "(weights)", "a list with a positive total weight");
    }
  }
  const a = t.amountMinor;
  if (!isInt(a?.min, 1, 999_999_999_999) || !isInt(a?.max, 1, 999_999_999_999) || a.min > a.max) {
    bad("terminal.amountMinor", a, "{ min, max } whole minor units, 1 <= min <= max <= 999999999999");
  }
}

function checkPopulation(f: PopulationFleet, t: TerminalSettings, bad: Bad): void {
  if (!isInt(f.terminals, 1, t.count))
    bad("fleet.terminals", f.terminals, `1 to terminal.count (${t.count})`);
  if (f.vus !== undefined && !isInt(f.vus, 1)) bad("fleet.vus", f.vus, "a whole number >= 1 (ignored)");
  if (f.signIn?.curve !== "uniform" && f.signIn?.curve !== "normal") {
    bad("fleet.signIn.curve", f.signIn?.curve, `"uniform" or "normal"`);
  }
  if (!isNum(f.signIn?.windowS, 0)) bad("fleet.signIn.windowS", f.signIn?.windowS, "seconds >= 0");
  if (f.signIn?.peakAtS !== undefined && !isNum(f.signIn.peakAtS, 0)) {
    bad("fleet.signIn.peakAtS", f.signIn.peakAtS, "seconds >= 0");
  }
  if (f.signIn?.sigmaS !== undefined && !isNum(f.signIn.sigmaS, 0)) {
    bad("fleet.signIn.sigmaS", f.signIn.sigmaS, "seconds >= 0");
  }
  if (!isInt(f.purchases?.perTerminal, 0)) {
    bad("fleet.purchases.perTerminal", f.purchases?.perTerminal, "a whole number >= 0");
  }
  if (!isNum(f.purchases?.thinkTimeS?.mean, 0) || !isNum(f.purchases?.thinkTimeS?.jitter, 0)) {
    bad("fleet.purchases.thinkTimeS", f.purchases?.thinkTimeS, "{ mean, jitter } seconds >= 0");
  }
}

function checkOpen(f: OpenFleet, t: TerminalSettings, bad: Bad): void {
  if (f.operation !== "signin" && f.operation !== "purchase") {
    bad("fleet.operation", f.operation, `"signin" or "purchase"`);
  }
  if (!Array.isArray(f.stages) || f.stages.length === 0) bad("fleet.stages", f.stages, "a non-empty list");
  else {
    f.stages.forEach((s, i) => {
      if (!isNum(s?.durationS, 0) || s.durationS <= 0)
        bad(`fleet.stages[${i}].durationS`, s?.durationS, "> 0");
      if (!isNum(s?.ratePerS, 0)) bad(`fleet.stages[${i}].ratePerS`, s?.ratePerS, "a rate >= 0");
    });
  }
  if (f.preAllocatedVUs !== undefined && !isInt(f.preAllocatedVUs, 1)) {
    bad("fleet.preAllocatedVUs", f.preAllocatedVUs, "a whole number >= 1 (ignored)");
  }
  if (!isInt(f.maxVUs, 1))
    bad("fleet.maxVUs", f.maxVUs, "a whole number >= 1 (the most terminals busy at once)");
  if (f.terminals !== undefined && !isInt(f.terminals, 1, t.count)) {
    bad("fleet.terminals", f.terminals, `1 to terminal.count (${t.count})`);
  }
  if (t.mode === "long") {
    // An open-model arrival is one operation on a free terminal: nothing keeps a link (and its echoes) between.
    bad("terminal.mode", t.mode, `"short" with the open model (long links need the population model)`);
  }
}

function checkClosed(f: ClosedFleet, t: TerminalSettings, bad: Bad): void {
  if (f.operation !== "signin" && f.operation !== "purchase") {
    bad("fleet.operation", f.operation, `"signin" or "purchase"`);
  }
  if (!isInt(f.vus, 1)) bad("fleet.vus", f.vus, "a whole number >= 1 (loops running at once)");
  const terminals = f.terminals ?? t.count;
  if (f.terminals !== undefined && !isInt(f.terminals, 1, t.count)) {
    bad("fleet.terminals", f.terminals, `1 to terminal.count (${t.count})`);
  } else if (isInt(f.vus, 1) && terminals < f.vus) {
    bad("fleet.terminals", terminals, `at least fleet.vus (${f.vus}): each loop needs a terminal of its own`);
  }
  if (t.mode === "long") {
    bad("terminal.mode", t.mode, `"short" with the closed model (long links need the population model)`);
  }
}
