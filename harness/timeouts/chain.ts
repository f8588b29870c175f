import { DEFAULT_TERMINAL, type TerminalSettings } from "../fleet/plan.ts";
import type { LabOverrides } from "../profile/define.ts";
import { loadConfig } from "../sim/common/config.ts";
import { type HsmConfig, resolveHsmConfig } from "../sim/hsm/settings.ts";
import { type IssuerConfig, resolveIssuerConfig } from "../sim/issuer/settings.ts";
import {
  normalizeSwitchInput,
  PROGRAM as SWITCH_PROGRAM,
  type SwitchConfig,
  switchSpec,
} from "../sim/switch/config.ts";

// The static check of `posstorm timeouts <profile>`: the timeout chain terminal > switch budget > backends
// (PROTOCOL.md, "Default timeouts"; DESIGN.md, "Capacity and timeouts"), read from settings alone. Every rule
// gives one finding, `ok` included, so a report shows each was checked. Evaluation only; rendering is
// renderChainMarkdown.

export interface ChainInput {
  /** The profile's terminal settings, DEFAULT_TERMINAL merged. */
  terminal: TerminalSettings;
  /** The reference switch's settings, defaults merged. */
  switch: SwitchConfig;
  /** Issuer name (`a` → issuer-a) → its settings, defaults merged. */
  issuers: Record<string, IssuerConfig>;
  hsm: HsmConfig;
  /** Optional measured latency of the operation end to end (ms) at percentiles, e.g. from a baseline run. */
  measured?: {
    operation: "signin" | "purchase";
    percentiles: Partial<Record<Percentile, number>>;
  };
  /** Acceptable false-timeout rate for the percentile rule (default 0.001 → p99.9). */
  falseTimeoutRate?: number;
}

export type Percentile = "p50" | "p90" | "p99" | "p999";
export type ChainStatus = "ok" | "warn" | "fail";

export interface ChainFinding {
  /** Short stable id, one of CHAIN_RULES. */
  rule: ChainRule;
  status: ChainStatus;
  /** The values the rule compared, units in the keys (…Ms, …S). */
  values: Record<string, number | string>;
  /** What a user would see happen (one sentence). */
  consequence: string;
  /** What to change, with a concrete number. */
  fix: string;
}

/** Every rule's id, in the order checkTimeoutChain reports them. */
export const CHAIN_RULES = [
  "terminal-exceeds-switch-budget",
  "switch-timeout-above-backend-tail",
  "connect-timeout-vs-syn-retransmission",
  "retry-amplification",
  "echo-before-switch-idle-timeout",
  "echo-wait-within-response-timeout",
  "reversals-vs-store-and-forward",
  "response-timeout-at-percentile",
] as const;

export type ChainRule = (typeof CHAIN_RULES)[number];

/** Added to the switch's own timeout: writing its reply and the way back to the terminal. */
export const SWITCH_MARGIN_MS = 500;
/** The reference switch checks a purchase's MAC in process with the session's MAK: no HSM call on that path. */
const HSM_ON_PURCHASE_PATH_MS = 0;
/** Calls the reference switch makes per request: one HSM call per sign-in, one issuer send per purchase. */
const SWITCH_ATTEMPTS = 1;
/** Linux: the first SYN is retransmitted after the initial RTO (1 s), doubling, tcp_syn_retries (6) times. */
const SYN_INITIAL_RTO_MS = 1_000;
const TCP_SYN_RETRIES = 6;
/** When each SYN retransmission goes out, ms after the first SYN: 1000, 3000, 7000, 15000, 31000, 63000. */
export const SYN_RETRANSMISSIONS_MS: readonly number[] = Array.from(
  { length: TCP_SYN_RETRIES },
  (_, i) => SYN_INITIAL_RTO_MS * (2 ** (i + 1) - 1),
);
/** Time left for the answer to a retransmitted SYN. */
const SYN_RTT_MARGIN_MS = 500;
/** A connect timeout past this share of the next retransmission's time waits for it without reaching it. */
const JUST_BELOW_SHARE = 0.8;
/** Attempts per request, at one layer only (Google SRE book, "Handling Overload"). */
const MAX_ATTEMPTS = 3;
/** The echo goes out by this share of the switch's idle timeout. */
const ECHO_SHARE_OF_IDLE = 0.8;
/** p99.9 (AWS Builders' Library, "Timeouts, retries and backoff with jitter"). */
export const DEFAULT_FALSE_TIMEOUT_RATE = 0.001;
/** Recommended response timeout = the percentile × this, rounded up to ROUND_MS. */
const PERCENTILE_HEADROOM = 1.5;
/** A response timeout above this many times the percentile holds a terminal far longer than needed. */
const TOO_LONG_FACTOR = 10;
const ROUND_MS = 100;
/** The share of requests slower than each percentile. */
const TAIL: Record<Percentile, number> = { p50: 0.5, p90: 0.1, p99: 0.01, p999: 0.001 };
/** The issuers startLab starts when a profile names none. */
const LAB_DEFAULT_ISSUERS = ["a", "b"];

const ceilTo = (x: number, step: number) => Math.ceil(x / step) * step;
const floorTo = (x: number, step: number) => Math.floor(x / step) * step;
const ms = (x: number) => `${x.toLocaleString("en-US")} ms`;

/** The longest the switch may take to answer, per operation, its margin included. */
export function switchBudgetsMs(sw: SwitchConfig): { purchase: number; signin: number } {
  return {
    purchase: sw.issuerTimeoutMs + HSM_ON_PURCHASE_PATH_MS + SWITCH_MARGIN_MS,
    signin: sw.hsmTimeoutMs + SWITCH_MARGIN_MS,
  };
}

/** A ChainInput from a profile's merged terminal settings and its lab overrides, the simulators' defaults merged. */
export function chainInputOf(
  terminal: TerminalSettings,
  lab: Pick<LabOverrides, "issuers" | "hsm" | "switch"> = {},
  options: Pick<ChainInput, "measured" | "falseTimeoutRate"> = {},
): ChainInput {
  const switchConfig = loadConfig(SWITCH_PROGRAM, switchSpec, {
    overrides: normalizeSwitchInput(lab.switch ?? {}),
  }) as unknown as SwitchConfig;
  const issuerSettings = lab.issuers ?? Object.fromEntries(LAB_DEFAULT_ISSUERS.map((name) => [name, {}]));
  const issuers = Object.fromEntries(
    Object.entries(issuerSettings).map(([name, settings]) => [
      name,
      resolveIssuerConfig({ overrides: { name: name.toUpperCase(), ...settings } }),
    ]),
  );
  const hsm = resolveHsmConfig({ overrides: lab.hsm ?? {} });
  return { terminal, switch: switchConfig, issuers, hsm, ...options };
}

export function checkTimeoutChain(input: ChainInput): ChainFinding[] {
  return [
    terminalExceedsSwitchBudget(input),
    switchTimeoutAboveBackendTail(input),
    connectTimeoutVsSyn(input.terminal),
    retryAmplification(input),
    echoBeforeSwitchIdle(input),
    echoWaitWithinResponse(input.terminal),
    reversalsVsStoreAndForward(input),
    responseTimeoutAtPercentile(input),
  ];
}

function terminalExceedsSwitchBudget({ terminal, switch: sw, issuers }: ChainInput): ChainFinding {
  const rule = "terminal-exceeds-switch-budget";
  const timeoutMs = terminal.responseTimeoutMs;
  const budget = switchBudgetsMs(sw);
  const values = {
    terminalResponseTimeoutMs: timeoutMs,
    switchIssuerTimeoutMs: sw.issuerTimeoutMs,
    hsmOnPurchasePathMs: HSM_ON_PURCHASE_PATH_MS,
    switchHsmTimeoutMs: sw.hsmTimeoutMs,
    marginMs: SWITCH_MARGIN_MS,
    purchaseBudgetMs: budget.purchase,
    signinBudgetMs: budget.signin,
  };
  const needed = ceilTo(Math.max(budget.purchase, budget.signin) + 1, ROUND_MS);
  if (timeoutMs <= budget.purchase) {
    const issuerTimeoutMs = floorTo(timeoutMs - SWITCH_MARGIN_MS - HSM_ON_PURCHASE_PATH_MS - 1, ROUND_MS);
    // Lowering the switch's timeout is an option only while it stays above every issuer's p99.
    const slowestP99Ms = Math.max(0, ...Object.values(issuers).map((s) => Math.max(s.p99Ms, s.medianMs)));
    return {
      rule,
      status: "fail",
      values,
      consequence:
        "The issuer can approve after the terminal gave up: approvals the terminal never sees (one-sided transactions unless the reversal lands).",
      fix:
        `Raise the terminal's responseTimeoutMs to ${ms(needed)}` +
        (issuerTimeoutMs > slowestP99Ms
          ? ` or lower the switch's issuerTimeoutMs to ${ms(issuerTimeoutMs)}.`
          : "."),
    };
  }
  if (timeoutMs <= budget.signin) {
    const hsmTimeoutMs = floorTo(timeoutMs - SWITCH_MARGIN_MS - 1, ROUND_MS);
    return {
      rule,
      status: "fail",
      values,
      consequence:
        "The HSM can answer a sign-in after the terminal gave up: the switch keeps keys the terminal never loaded, and the terminal signs in again.",
      fix:
        `Raise the terminal's responseTimeoutMs to ${ms(needed)}` +
        (hsmTimeoutMs > 0 ? ` or lower the switch's hsmTimeoutMs to ${ms(hsmTimeoutMs)}.` : "."),
    };
  }
  return {
    rule,
    status: "ok",
    values,
    consequence: `The switch answers every purchase within ${ms(budget.purchase)} (98 at worst) before the terminal gives up at ${ms(timeoutMs)}.`,
    fix: `Nothing; keep responseTimeoutMs at ${ms(needed)} or more.`,
  };
}

function switchTimeoutAboveBackendTail({ switch: sw, issuers, hsm }: ChainInput): ChainFinding {
  const rule = "switch-timeout-above-backend-tail";
  // A p99Ms at or below medianMs means a constant medianMs (harness/sim/issuer/README.md).
  const tails = Object.entries(issuers).map(([name, s]) => ({
    name,
    medianMs: s.medianMs,
    p99Ms: Math.max(s.p99Ms, s.medianMs),
  }));
  const slowest = tails.reduce<(typeof tails)[number] | undefined>(
    (worst, t) => (worst === undefined || t.p99Ms > worst.p99Ms ? t : worst),
    undefined,
  );
  const values = {
    slowestIssuer: slowest?.name ?? "none",
    issuerMedianMs: slowest?.medianMs ?? 0,
    issuerP99Ms: slowest?.p99Ms ?? 0,
    switchIssuerTimeoutMs: sw.issuerTimeoutMs,
    hsmServiceTimeMs: hsm.serviceTimeMs,
    switchHsmTimeoutMs: sw.hsmTimeoutMs,
  };
  const raiseIssuerTimeout = (ms_: number) =>
    `Raise the switch's issuerTimeoutMs to ${ms(ceilTo(ms_ * PERCENTILE_HEADROOM, ROUND_MS))} (the terminal's responseTimeoutMs above it plus ${ms(SWITCH_MARGIN_MS)}), or make issuer ${values.slowestIssuer} faster.`;
  if (hsm.serviceTimeMs >= sw.hsmTimeoutMs) {
    return {
      rule,
      status: "fail",
      values,
      consequence: "Every sign-in outlasts the switch's HSM timeout: terminals get A7 and never sign in.",
      fix: `Raise the switch's hsmTimeoutMs to ${ms(ceilTo(hsm.serviceTimeMs * PERCENTILE_HEADROOM, ROUND_MS))} or lower the HSM's serviceTimeMs.`,
    };
  }
  if (slowest && slowest.medianMs >= sw.issuerTimeoutMs) {
    return {
      rule,
      status: "fail",
      values,
      consequence: `Half the purchases to issuer ${slowest.name} outlast the switch's issuer timeout: 98 replies and store-and-forward reversals for most sales.`,
      fix: raiseIssuerTimeout(slowest.p99Ms),
    };
  }
  if (slowest && slowest.p99Ms >= sw.issuerTimeoutMs) {
    return {
      rule,
      status: "warn",
      values,
      consequence: `The switch times out on issuer ${slowest.name}'s slow tail: 98 replies and store-and-forward reversals for over 1 % of its purchases.`,
      fix: raiseIssuerTimeout(slowest.p99Ms),
    };
  }
  return {
    rule,
    status: "ok",
    values,
    consequence: "The issuers' p99 and the HSM's service time end before the switch's timeouts.",
    fix: "Nothing.",
  };
}

function connectTimeoutVsSyn(terminal: TerminalSettings): ChainFinding {
  const rule = "connect-timeout-vs-syn-retransmission";
  const timeoutMs = terminal.connectTimeoutMs;
  const fit = SYN_RETRANSMISSIONS_MS.filter((at) => at < timeoutMs).length;
  const lastAtMs = fit === 0 ? 0 : SYN_RETRANSMISSIONS_MS[fit - 1]!;
  const nextAtMs = SYN_RETRANSMISSIONS_MS[fit];
  const values = {
    connectTimeoutMs: timeoutMs,
    synRetransmissionsThatFit: fit,
    lastSynAtMs: lastAtMs,
    nextSynAtMs: nextAtMs ?? `none (tcp_syn_retries ${TCP_SYN_RETRIES} spent)`,
    synRetransmissionsMs: SYN_RETRANSMISSIONS_MS.join(", "),
  };
  if (fit === 0) {
    return {
      rule,
      status: "warn",
      values,
      consequence: `No SYN retransmission fits (Linux sends the first at ${ms(SYN_INITIAL_RTO_MS)}): a single lost SYN is a connect timeout.`,
      fix: `Raise connectTimeoutMs to ${ms(SYN_RETRANSMISSIONS_MS[0]! + SYN_RTT_MARGIN_MS)} (the retransmission at ${ms(SYN_RETRANSMISSIONS_MS[0]!)} plus ${ms(SYN_RTT_MARGIN_MS)} for its answer).`,
    };
  }
  const nextStep = nextAtMs === undefined ? undefined : nextAtMs + SYN_RTT_MARGIN_MS;
  if (nextAtMs !== undefined && timeoutMs > JUST_BELOW_SHARE * nextAtMs) {
    return {
      rule,
      status: "warn",
      values,
      consequence: `The timeout ends just before the SYN retransmission at ${ms(nextAtMs)}: waiting past ${ms(lastAtMs + SYN_RTT_MARGIN_MS)} buys no extra retry.`,
      fix: `Set connectTimeoutMs to ${ms(nextStep!)} (one more retransmission) or ${ms(lastAtMs + SYN_RTT_MARGIN_MS)} (the same retries, failing sooner).`,
    };
  }
  return {
    rule,
    status: "ok",
    values,
    consequence: `${fit} SYN retransmission${fit === 1 ? "" : "s"} fit before the connect timeout: a lost SYN costs a retransmission, not the operation.`,
    fix:
      nextStep === undefined
        ? "Nothing."
        : `Nothing; for one more retransmission set connectTimeoutMs to ${ms(nextStep)}.`,
  };
}

function retryAmplification({ terminal, switch: sw }: ChainInput): ChainFinding {
  const rule = "retry-amplification";
  const { retry, reversalAttempts } = terminal;
  const signinAttempts = retry.policy === "none" ? 1 : retry.maxAttempts;
  const product = signinAttempts * SWITCH_ATTEMPTS;
  const values = {
    terminalRetryPolicy: retry.policy,
    terminalSigninAttempts: signinAttempts,
    switchHsmAttemptsPerSignin: SWITCH_ATTEMPTS,
    signinAttemptsProduct: product,
    terminalReversalAttempts: reversalAttempts,
    switchIssuerAttemptsPerPurchase: SWITCH_ATTEMPTS,
    switchSafRetryMs: sw.safRetryMs,
    switchSafAttempts: "until the issuer acknowledges (one record per TID + STAN)",
  };
  const { retry: backoff } = DEFAULT_TERMINAL;
  const fixRetry = `Use exponential backoff with jitter and at most ${MAX_ATTEMPTS} attempts: retry { policy: "exponential", delayMs: ${backoff.delayMs}, maxDelayMs: ${backoff.maxDelayMs}, maxAttempts: ${Math.min(backoff.maxAttempts, MAX_ATTEMPTS)} }`;
  if (retry.policy === "immediate" && retry.maxAttempts > MAX_ATTEMPTS) {
    return {
      rule,
      status: "fail",
      values,
      consequence: `Every terminal retries a failed sign-in ${retry.maxAttempts} times at once: a retry storm multiplies the load on a switch that is already failing by ${product}.`,
      fix: `${fixRetry}.`,
    };
  }
  const problems: string[] = [];
  if (signinAttempts > MAX_ATTEMPTS) problems.push(`${signinAttempts} sign-in attempts`);
  if (reversalAttempts > MAX_ATTEMPTS) problems.push(`${reversalAttempts} reversal attempts`);
  if (retry.policy === "immediate" && product > MAX_ATTEMPTS) problems.push(`${product} immediate attempts`);
  if (problems.length > 0) {
    return {
      rule,
      status: "warn",
      values,
      consequence: `A layer makes ${problems.join(" and ")} per request (SRE book: at most ${MAX_ATTEMPTS}, at one layer): a failing backend gets that many times its load.`,
      fix:
        signinAttempts > MAX_ATTEMPTS || retry.policy === "immediate"
          ? `${fixRetry}${reversalAttempts > MAX_ATTEMPTS ? `; reversalAttempts ${MAX_ATTEMPTS}` : ""}.`
          : `Set reversalAttempts to ${MAX_ATTEMPTS}.`,
    };
  }
  return {
    rule,
    status: "ok",
    values,
    consequence: `At most ${product} sign-in attempt${product === 1 ? "" : "s"} per user action and ${reversalAttempts} reversal attempts, retried at the terminal only (the switch retries nothing but its store-and-forward reversals).`,
    fix:
      retry.policy === "exponential" || retry.policy === "none"
        ? "Nothing."
        : `Nothing required; ${fixRetry}.`,
  };
}

function echoBeforeSwitchIdle({ terminal, switch: sw }: ChainInput): ChainFinding {
  const rule = "echo-before-switch-idle-timeout";
  const limitMs = floorTo(ECHO_SHARE_OF_IDLE * sw.idleTimeoutMs, ROUND_MS);
  const values = {
    mode: terminal.mode,
    echoIntervalMs: terminal.echoIntervalMs,
    switchIdleTimeoutMs: sw.idleTimeoutMs,
    echoLimitMs: limitMs,
  };
  if (terminal.mode !== "long") {
    return {
      rule,
      status: "ok",
      values: { ...values, appliesTo: "long links (terminal.mode = long)" },
      consequence: "Short connections open per exchange, so no link waits idle for the switch to close it.",
      fix: "Nothing.",
    };
  }
  const fix = `Set echoIntervalMs to ${ms(limitMs)} or less (${ECHO_SHARE_OF_IDLE * 100} % of the switch's idleTimeoutMs), or raise the switch's idleTimeoutMs to ${ms(ceilTo(terminal.echoIntervalMs / ECHO_SHARE_OF_IDLE, ROUND_MS))}.`;
  if (terminal.echoIntervalMs >= sw.idleTimeoutMs) {
    return {
      rule,
      status: "fail",
      values,
      consequence:
        "The switch closes idle links before the echo: the next purchase meets a closed link → `closed`/`reset` and a reconnect.",
      fix,
    };
  }
  if (terminal.echoIntervalMs > limitMs) {
    return {
      rule,
      status: "warn",
      values,
      consequence:
        "The echo goes out just before the switch's idle timeout: a little delay on the link and the switch closes it first (`closed`/`reset`, a reconnect).",
      fix,
    };
  }
  return {
    rule,
    status: "ok",
    values,
    consequence: `An idle link carries an echo every ${ms(terminal.echoIntervalMs)}, before the switch drops it at ${ms(sw.idleTimeoutMs)}.`,
    fix: "Nothing.",
  };
}

function echoWaitWithinResponse(terminal: TerminalSettings): ChainFinding {
  const rule = "echo-wait-within-response-timeout";
  const values = {
    mode: terminal.mode,
    idleTimeoutMs: terminal.idleTimeoutMs,
    responseTimeoutMs: terminal.responseTimeoutMs,
  };
  if (terminal.mode !== "long") {
    return {
      rule,
      status: "ok",
      values: { ...values, appliesTo: "long links (terminal.mode = long)" },
      consequence: "Short connections send no echo.",
      fix: "Nothing.",
    };
  }
  if (terminal.idleTimeoutMs > terminal.responseTimeoutMs) {
    return {
      rule,
      status: "warn",
      values,
      consequence:
        "The terminal waits longer for an 0830, which the switch answers at once, than for a purchase: a dead link holds the next sale longer than a slow issuer would.",
      fix: `Set idleTimeoutMs to ${ms(terminal.responseTimeoutMs)} or less.`,
    };
  }
  return {
    rule,
    status: "ok",
    values,
    consequence: "An unanswered echo drops the link no later than a purchase would time out.",
    fix: "Nothing.",
  };
}

function reversalsVsStoreAndForward({ terminal, switch: sw }: ChainInput): ChainFinding {
  const rule = "reversals-vs-store-and-forward";
  const values = {
    terminalReversalAttempts: terminal.reversalAttempts,
    terminalResponseTimeoutMs: terminal.responseTimeoutMs,
    terminalReversalWaitMs: terminal.reversalAttempts * terminal.responseTimeoutMs,
    switchSafRetryMs: sw.safRetryMs,
    switchSafLimit: "none: repeated until the issuer acknowledges",
  };
  if (terminal.reversalAttempts < 1) {
    return {
      rule,
      status: "fail",
      values,
      consequence:
        "A timed-out purchase is never reversed by the terminal: unless the switch reverses it on its own, the card is charged for a sale the terminal shows as failed.",
      fix: `Set reversalAttempts to ${DEFAULT_TERMINAL.reversalAttempts}.`,
    };
  }
  return {
    rule,
    status: "ok",
    values,
    consequence: `The terminal tries its reversal ${terminal.reversalAttempts} times (one attempt per later sale, each up to ${ms(terminal.responseTimeoutMs)}); the switch repeats its own every ${ms(sw.safRetryMs)} with no limit.`,
    fix: "Nothing.",
  };
}

function responseTimeoutAtPercentile({
  terminal,
  switch: sw,
  measured,
  falseTimeoutRate = DEFAULT_FALSE_TIMEOUT_RATE,
}: ChainInput): ChainFinding {
  const rule = "response-timeout-at-percentile";
  const timeoutMs = terminal.responseTimeoutMs;
  const wanted = (Object.keys(TAIL) as Percentile[]).filter((p) => TAIL[p] <= falseTimeoutRate);
  const base = { falseTimeoutRate, percentile: wanted[0] ?? "p999", responseTimeoutMs: timeoutMs };
  if (measured === undefined) {
    return {
      rule,
      status: "ok",
      values: {
        ...base,
        measured: "no measured latency: run a baseline (posstorm run) and pass its p99.9",
      },
      consequence: "Not checked against latency: the timeouts above are checked against each other only.",
      fix: "Run a baseline (posstorm run) and pass its p99.9.",
    };
  }
  const percentile = wanted.find((p) => measured.percentiles[p] !== undefined);
  const latencyMs = percentile === undefined ? undefined : measured.percentiles[percentile]!;
  if (percentile === undefined || latencyMs === undefined) {
    return {
      rule,
      status: "warn",
      values: { ...base, measuredPercentiles: Object.keys(measured.percentiles).join(", ") || "none" },
      consequence: `The measured latency lacks ${base.percentile}, the percentile a ${falseTimeoutRate} false-timeout rate needs.`,
      fix: `Pass the baseline's ${base.percentile}.`,
    };
  }
  const budgetMs = switchBudgetsMs(sw)[measured.operation];
  const headroomMs = ceilTo(latencyMs * PERCENTILE_HEADROOM, ROUND_MS);
  const recommendedMs = Math.max(headroomMs, ceilTo(budgetMs + 1, ROUND_MS));
  const values = {
    falseTimeoutRate,
    percentile,
    operation: measured.operation,
    [`${percentile}Ms`]: latencyMs,
    responseTimeoutMs: timeoutMs,
    switchBudgetMs: budgetMs,
    recommendedResponseTimeoutMs: recommendedMs,
  };
  const floorNote =
    recommendedMs > headroomMs
      ? ` (the switch budget keeps it from ${ms(headroomMs)}; lower the switch's timeouts to go there)`
      : "";
  if (timeoutMs < latencyMs) {
    return {
      rule,
      status: "fail",
      values,
      consequence: `More than ${falseTimeoutRate * 100} % of good ${measured.operation}s outlast the ${ms(timeoutMs)} timeout: the terminal reports them as timeouts (and reverses approved purchases).`,
      fix: `Set responseTimeoutMs to ${ms(recommendedMs)}${floorNote}.`,
    };
  }
  if (timeoutMs > TOO_LONG_FACTOR * latencyMs) {
    return {
      rule,
      status: "warn",
      values,
      consequence: `A stall holds the terminal ${ms(timeoutMs)}, over ${TOO_LONG_FACTOR}× the ${percentile} of a good reply (${ms(latencyMs)}): far longer than needed.`,
      fix: `Set responseTimeoutMs to ${ms(recommendedMs)}${floorNote}.`,
    };
  }
  return {
    rule,
    status: "ok",
    values,
    consequence: `The timeout lies between the ${percentile} (${ms(latencyMs)}) and ${TOO_LONG_FACTOR}× it.`,
    fix: "Nothing.",
  };
}

const STATUS_CELL: Record<ChainStatus, string> = { ok: "✅ ok", warn: "⚠️ warn", fail: "❌ FAIL" };
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
const row = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
const formatValue = (v: number | string) => (typeof v === "number" ? v.toLocaleString("en-US") : v);

/** The findings as one Markdown table: status, rule, values, consequence, fix. */
export function renderChainMarkdown(findings: ChainFinding[]): string {
  return [
    row(["status", "rule", "values", "consequence", "fix"]),
    row(["---", "---", "---", "---", "---"]),
    ...findings.map((f) =>
      row([
        STATUS_CELL[f.status],
        `\`${f.rule}\``,
        Object.entries(f.values)
          .map(([k, v]) => `${k}: ${formatValue(v)}`)
          .join("<br>"),
        f.consequence,
        f.fix,
      ]),
    ),
  ].join("\n");
}
