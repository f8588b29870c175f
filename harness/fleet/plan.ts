// The run plan: plain JSON compiled from a profile once (plan.json in the run folder), the input of every fleet
// segment. Types and defaults only: no Node APIs, so it can travel to a worker or another host as it is.
// Durations carry their unit in the name (…Ms, …S).

/** Schema version of the plan file; resolvePlan refuses another. */
export const RUN_PLAN_VERSION = 1;

export interface RunPlan {
  version: 1;
  /** Names the run in logs and in the `run` tag of every posstorm metric sample. */
  runId: string;
  /** Where terminals connect: the lab's `edge` proxy. A host outside loopback needs `allowRemote: true`. */
  target: { host: string; port: number; allowRemote?: boolean };
  /** Lab key, 32 hex digits: each terminal's TMK is deriveTmk(labKey, TID) (harness/protocol/crypto). */
  labKeyHex: string;
  terminal: TerminalSettings;
  fleet: FleetModel;
  /**
   * Load time in seconds from the scenario start. No operation starts after it; operations in flight finish
   * or time out on their own timers, so the fleet ends at most {@link graceS} seconds later.
   */
  durationS: number;
}

export type ConnectionMode = "short" | "long";
export type RetryPolicyName = "none" | "fixed" | "exponential" | "immediate";

/**
 * How failed sign-ins are retried. `maxAttempts` counts every sign-in attempt, the first included (1 = no
 * retry). Delay before retry n (n = 1, 2, …):
 * - `none`: no retry at all;
 * - `fixed`: `delayMs`;
 * - `exponential`: min(`maxDelayMs`, `delayMs` × 2^(n-1)), then "equal jitter": half of it plus a uniform
 *   random part of the other half;
 * - `immediate`: 0 (reproduces retry storms).
 */
export interface RetryPolicy {
  policy: RetryPolicyName;
  delayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

export interface TerminalSettings {
  /** TIDs are prefix + a number padded to fill 8 characters: `POS` + 5 digits → POS00001 … */
  tidPrefix: string;
  /** Number of the first TID (`1` → POS00001). */
  firstTid: number;
  /** TIDs available: firstTid … firstTid + count - 1. A fleet uses the first `terminals` of them. */
  count: number;
  /** F42, 15 characters. */
  merchantId: string;
  /**
   * Your terminals instead of the lab's (harness/fleet/terminal-keys.ts): an absolute path to a CSV or JSON of
   * TID, TMK, KCV. Terminal i is row i (its TID and TMK); tidPrefix and firstTid are not used. Each segment reads
   * the file itself, so keys appear in no plan, message or log.
   */
  keysFile?: string;
  /** `short`: connect per exchange (UnionPay norm). `long`: one persistent socket, 0820/301 echo heartbeat. */
  mode: ConnectionMode;
  /** Frames carry the 5-byte TPDU before the header (default true; some acquirers' dialects leave it out). */
  tpdu: boolean;
  /** Frames carry the 6-byte header before the MTI (default true; some acquirers' dialects leave it out). */
  header: boolean;
  /** The TPDU's destination address (NII, 4 digits; default 0003): the reply's TPDU source must be it. */
  tpduDestination: string;
  /** The header's version (2 digits; default 31): the reply's header must carry it. */
  headerVersion: string;
  /** 0210 replies carry F60 (60.1, 60.2) (default true); false: the dialect leaves it out. */
  replyField60: boolean;
  /** Take the batch number the 0810 gives (60.2) for the transactions after it (default true). */
  adoptBatch: boolean;
  /**
   * F60 of purchases and reversals: 3 parts (60.1-60.3, default) or 5 (with 60.4 read capability `5` and 60.5
   * IC condition `0`); a reply's F60 must have as many.
   */
  field60Parts: 3 | 5;
  /** Approved 0210s carry F63 with 63.1, the card organisation code (default false: not required). */
  replyField63: boolean;
  /**
   * The STAN (F11) across sign-ins: `continue` numbering (default), or `restart` at 000001 after each approved
   * sign-in (such terminals need a switch that opens a batch per sign-in).
   */
  stanAtSignIn: "continue" | "restart";
  /**
   * The software the terminals run (the header's 6-digit version), as shares of the fleet: `[{ version:
   * "000002", share: 0.8 }, { version: "000001", share: 0.2 }]`. Terminal i gets a version by its number,
   * spread evenly. Default: every terminal on 000000.
   */
  software?: { version: string; share: number }[];
  /** From connect() to an open socket (default 10000); expiry destroys the socket → `timeout.connect`. */
  connectTimeoutMs: number;
  /** From the request written to its reply (default 60000) → `timeout.response`. */
  responseTimeoutMs: number;
  /** Long mode: an echo after this much time without an exchange on the link (default 60000). */
  echoIntervalMs: number;
  /** Long mode: wait for the 0830 of an echo (default 30000); none → `timeout.idle`, the link is dropped. */
  idleTimeoutMs: number;
  /** 60.3 of the 0800, which fixes the F62 layout of the 0810. */
  keyLayout: "001" | "003" | "004";
  /** F64 algorithm; must match the switch's `macAlgorithm`. */
  macAlgorithm: "cup-ecb" | "x9.19" | "x9.19-ascii";
  /** Attempts to deliver a pending reversal before it is abandoned (default 3). */
  reversalAttempts: number;
  retry: RetryPolicy;
  /** Cards purchases draw from, by relative weight. PANs are digit strings (never numbers). */
  cards: { pan: string; weight: number }[];
  /** F4 drawn uniformly from [min, max], minor units (fen). */
  amountMinor: { min: number; max: number };
}

/**
 * Closed population: `terminals` terminals, striped over the fleet's segments (terminal i in segment i mod N),
 * each signing in once at a time drawn from `signIn`, then making `purchases.perTerminal` purchases separated
 * by think time. Every terminal runs on its own schedule, so a slow switch feels the retry amplification.
 */
export interface PopulationFleet {
  model: "population";
  terminals: number;
  /** Ignored: k6's VUs, from profiles written for the k6 fleet (the engine needs no such setting). */
  vus?: number;
  /**
   * Sign-in times, seconds from the scenario start. `uniform` over [0, windowS]; `normal` around `peakAtS`
   * (default windowS / 2) with `sigmaS` (default windowS / 6), truncated to [0, windowS].
   */
  signIn: { curve: "uniform" | "normal"; windowS: number; peakAtS?: number; sigmaS?: number };
  /** Think time before each purchase: uniform in mean ± jitter seconds (at least 0). */
  purchases: { perTerminal: number; thinkTimeS: { mean: number; jitter: number } };
}

/**
 * Open model, as k6's `ramping-arrival-rate` counts time: the first stage starts at its own rate; each stage
 * ramps linearly from the previous stage's rate to its own; arrivals come at the exact times of that curve.
 * Every arrival is one operation (a purchase signs in first when its terminal has no session) on a free
 * terminal; one that finds no free terminal, or `maxVUs` busy, is dropped and counted, never queued.
 */
export interface OpenFleet {
  model: "open";
  operation: "signin" | "purchase";
  stages: { durationS: number; ratePerS: number }[];
  /** Ignored: k6's pre-allocated VUs, from profiles written for the k6 fleet. */
  preAllocatedVUs?: number;
  /** The most terminals busy at once (arrivals in progress); beyond it arrivals are dropped. */
  maxVUs: number;
  /** Terminals used (default terminal.count). */
  terminals?: number;
}

/**
 * Closed model, as k6's `constant-vus`: `vus` loops, each running one operation after another with no pause
 * from load start to the deadline, so the rate is whatever the switch answers (the closed-loop maximum at that
 * concurrency). Loop w takes turns on its own terminals (w, w + vus, …): never two operations on one terminal
 * at once. A purchase signs in first when its terminal has no session. Latency counts from each operation's
 * actual start (there is no schedule to be late for).
 */
export interface ClosedFleet {
  model: "closed";
  operation: "signin" | "purchase";
  /** Loops running at once. */
  vus: number;
  /** Terminals the loops take turns on (default terminal.count); at least `vus`. */
  terminals?: number;
}

export type FleetModel = PopulationFleet | OpenFleet | ClosedFleet;

/** Operations the terminal model performs; the `op` tag of posstorm metrics. */
export type Operation = "signin" | "purchase" | "reversal" | "echo";

/**
 * Outcome of one operation, exactly one each: the `outcome` tag.
 * - `approved`/`declined`: a reply that matched the request and passed the MAC check (declined carries F39
 *   in the `code` tag);
 * - `timeout.connect`: no open socket within connectTimeoutMs; `timeout.response`: no reply within
 *   responseTimeoutMs; `timeout.idle`: a long link's echo unanswered within idleTimeoutMs;
 * - `refused`: the connection was refused (or the host unreachable); `reset`: reset by the peer (also a broken
 *   pipe on write); `closed`: the peer closed the connection (EOF) before a reply;
 * - `protocol`: a reply that does not decode, does not match the request (MTI, F3, F4, F11, F41), lacks a
 *   required field, or carries working keys whose check values fail;
 * - `mac`: a reply whose F64 does not verify (or an approval without F64).
 */
export type Outcome =
  | "approved"
  | "declined"
  | "timeout.connect"
  | "timeout.response"
  | "timeout.idle"
  | "refused"
  | "reset"
  | "closed"
  | "protocol"
  | "mac";

export const OPERATIONS: readonly Operation[] = ["signin", "purchase", "reversal", "echo"];
export const OUTCOMES: readonly Outcome[] = [
  "approved",
  "declined",
  "timeout.connect",
  "timeout.response",
  "timeout.idle",
  "refused",
  "reset",
  "closed",
  "protocol",
  "mac",
];
/** Defaults of the terminal settings (PROTOCOL.md, "Default timeouts"). */
export const DEFAULT_TERMINAL: TerminalSettings = {
  tidPrefix: "POS",
  firstTid: 1,
  count: 10_000,
  merchantId: "123456789012345",
  mode: "short",
  tpdu: true,
  header: true,
  tpduDestination: "0003",
  headerVersion: "31",
  replyField60: true,
  adoptBatch: true,
  field60Parts: 3,
  replyField63: false,
  stanAtSignIn: "continue",
  connectTimeoutMs: 10_000,
  responseTimeoutMs: 60_000,
  echoIntervalMs: 60_000,
  idleTimeoutMs: 30_000,
  keyLayout: "003",
  macAlgorithm: "cup-ecb",
  reversalAttempts: 3,
  retry: { policy: "exponential", delayMs: 1_000, maxDelayMs: 30_000, maxAttempts: 3 },
  cards: [
    { pan: "6222020000000001234", weight: 3 },
    { pan: "4111111111111111", weight: 1 },
  ],
  amountMinor: { min: 100, max: 100_000 },
};

/**
 * Seconds the fleet may run past `durationS`: what operations started before the deadline can still take, plus
 * a margin. One operation is connect + reply (or echo) wait. Population: one operation per
 * terminal (none starts after the deadline). Open and closed: an operation started before it completes its chain:
 * a sign-in, the pending reversal's attempts, the purchase.
 */
export function graceS(
  terminal: Pick<
    TerminalSettings,
    "connectTimeoutMs" | "responseTimeoutMs" | "idleTimeoutMs" | "reversalAttempts"
  >,
  model: FleetModel["model"] = "population",
): number {
  const longestOpMs =
    terminal.connectTimeoutMs + Math.max(terminal.responseTimeoutMs, terminal.idleTimeoutMs);
  const ops = model === "population" ? 1 : terminal.reversalAttempts + 2;
  return Math.ceil((ops * longestOpMs) / 1000) + 5;
}
