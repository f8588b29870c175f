// The fault catalog: every fault posstorm can inject, as data. Units are in the field names; `link` is
// one of the lab's Toxiproxy proxies (`edge`, `hsm`, `issuer-a`, …), so a misspelt link or a missing
// unit is a compile error in a profile. `validateFault` checks the same things at run time for faults
// that come from JSON or the command line.

/** A link of the lab: Toxiproxy in front of the switch (`edge`) and in front of each backend. */
export type LinkName = "edge" | "hsm" | `issuer-${string}` | `agent-${string}`;

/** An issuer by its lab role and link name: `issuer-a`, `issuer-b`, … */
export type IssuerRole = `issuer-${string}`;

/**
 * Which way a fault acts on a link: `upstream` = client → server (terminal → switch on `edge`,
 * switch → backend on the others), `downstream` = server → client, `both` = one of each.
 */
export type FaultDirection = "upstream" | "downstream" | "both";

interface ToxicOptions {
  link: LinkName;
  /** Default `downstream` (Toxiproxy's default); `both` adds one toxic per direction. */
  direction?: FaultDirection;
  /**
   * Fraction (0..1) of *connections* the toxic applies to, decided once when a connection opens: 0.3
   * means about 30% of terminals see the fault on every message and 70% never do. It is not a
   * per-message probability (use `packet-loss` for that). Default 1.
   */
  toxicity?: number;
}

/** Faults Toxiproxy applies as toxics on a link's proxy. */
export type ToxicFault = ToxicOptions &
  (
    | {
        kind: "latency";
        /** Added to every chunk of data, in ms. */
        latencyMs: number;
        /** Uniform ± spread around latencyMs, in ms. Default 0. */
        jitterMs?: number;
      }
    | {
        kind: "bandwidth";
        /** Throughput cap in KB/s (1 KB = 1000 bytes), whole number >= 1. */
        rateKBps: number;
      }
    | {
        kind: "slow_close";
        /** Delay before a close is passed on, in ms. */
        delayMs: number;
      }
    | {
        kind: "timeout";
        /** Blackhole: data stops; the connection closes after timeoutMs, never when 0. */
        timeoutMs: number;
      }
    | {
        kind: "reset_peer";
        /** The connection is reset (RST) this long after the first data in the toxic's direction, in ms. */
        timeoutMs: number;
      }
    | {
        kind: "slicer";
        /** Data is cut into chunks of about this size, in bytes. */
        averageSizeBytes: number;
        /** Uniform ± spread of the chunk size, in bytes (below averageSizeBytes). Default 0. */
        sizeVariationBytes?: number;
        /** Pause between chunks, in µs. Default 0. */
        delayUs?: number;
      }
    | {
        kind: "limit_data";
        /** The connection is closed once this many bytes have passed. */
        bytes: number;
      }
    | {
        kind: "corrupt";
        /** Probability (0..1) that a message (a chunk of data: one frame on the lab's links) is damaged. */
        probability: number;
        /** How: one byte inverted, the frame cut short, its length prefix made short, or any (default). */
        damage?: CorruptDamage;
      }
  );

/** How `corrupt` damages a frame (posstorm's Toxiproxy build, scripts/toxiproxy/corrupt.go). */
export type CorruptDamage = "flip" | "truncate" | "length" | "mix";

/** How `connection-kill` drops the established connections of a link. */
export type KillMethod =
  /** Disable and re-enable the Toxiproxy proxy: it closes every connection (FIN) when disabled. */
  | "proxy-cycle"
  /** `ss -K`: the kernel aborts the sockets (RST); needs root and CONFIG_INET_DIAG_DESTROY. */
  | "ss-kill";

/** Runtime settings of the reference switch (harness/sim/switch/README.md), changed with PUT /config. */
export interface SwitchRuntimeSettings {
  issuerTimeoutMs?: number;
  hsmTimeoutMs?: number;
  idleTimeoutMs?: number;
  shedding?: boolean;
  maxInFlight?: number;
  maxQueue?: number;
  safRetryMs?: number;
  issuerPoolSize?: number;
  hsmPoolSize?: number;
  /** Card BIN prefix → issuer link. */
  routes?: Record<string, string>;
  /** `PREFIX*COUNT` ranges or 8-character TIDs. */
  fleet?: string[];
  /** The oldest terminal software version (6 digits) served; older terminals are answered 40. "" = any. */
  minSoftwareVersion?: string;
}

export type Fault =
  | ToxicFault
  /** The proxy is disabled: new connections are refused, open ones closed. */
  | { kind: "down"; link: LinkName }
  /**
   * Real kernel drops (nftables, random per packet) on the link's proxy port, so TCP retransmits.
   * Needs root or CAP_NET_ADMIN. Default direction `both`.
   */
  | { kind: "packet-loss"; link: LinkName; lossPercent: number; direction?: FaultDirection }
  /** The firewall drops new connections (SYN only): clients meet real connect timeouts. Default 100%. */
  | { kind: "syn-drop"; link: LinkName; lossPercent?: number }
  /** Every established connection of the link is dropped once, when the fault is applied. */
  | { kind: "connection-kill"; link: LinkName; method?: KillMethod }
  /**
   * New connections to the link at this rate, each sending nothing and held `holdOpenS` (default 60) or until
   * the far side closes it: a reconnect storm or a scanner. Opened by the process that applies the fault.
   */
  | { kind: "connection-flood"; link: LinkName; connectionsPerSecond: number; holdOpenS?: number }
  /** Slow issuer: its log-normal service time gets this median and 99th percentile, in ms. */
  | { kind: "issuer-slow"; issuer: IssuerRole; medianMs: number; p99Ms: number }
  /** Error mix: F39 response code → weight (`{"00": 80, "91": 20}`). */
  | { kind: "issuer-errors"; issuer: IssuerRole; responseMix: Record<string, number> }
  /** HSM capacity cut: calls started per second (0 = unlimited). */
  | { kind: "hsm-capacity"; capacityPerSecond: number }
  /** Any runtime setting of the switch, restored when the fault clears. */
  | { kind: "switch-config"; settings: SwitchRuntimeSettings }
  /** The lab restarts the switch (the context's restartService); `downMs` between stop and start. */
  | { kind: "switch-restart"; downMs?: number }
  /**
   * Terminal power loss (the run's own fleet): this fraction of purchases is cut right after the 0200 is
   * written; the terminal is off `offMs` (default 5000), then comes back owing the purchase's reversal.
   */
  | { kind: "power-loss"; fraction: number; offMs?: number };

export type FaultKind = Fault["kind"];

/** How long a flood's connection is held by default, s. */
export const FLOOD_HOLD_OPEN_S = 60;

/** How long a terminal that lost power stays off by default, ms. */
export const POWER_OFF_MS = 5_000;
export type FaultOf<K extends FaultKind> = Extract<Fault, { kind: K }>;

/**
 * Where a fault acts: `toxiproxy` (a toxic or the proxy), `kernel` (nftables), `backend` (admin API), `lab`,
 * `fleet` (the run's own terminals), `harness` (connections the applying process opens itself).
 */
export type FaultLayer = "toxiproxy" | "kernel" | "backend" | "lab" | "fleet" | "harness";

export interface FaultKindInfo {
  layer: FaultLayer;
  /** Cleared by removing it (`window`), or a one-off action whose window only frames the phase (`instant`). */
  shape: "window" | "instant";
  fields: string;
  summary: string;
}

export const FAULT_KINDS: Record<FaultKind, FaultKindInfo> = {
  latency: {
    layer: "toxiproxy",
    shape: "window",
    fields: "latencyMs, jitterMs?",
    summary: "adds latency ± jitter to every chunk of data",
  },
  bandwidth: {
    layer: "toxiproxy",
    shape: "window",
    fields: "rateKBps",
    summary: "caps throughput (1 KB = 1000 bytes)",
  },
  slow_close: {
    layer: "toxiproxy",
    shape: "window",
    fields: "delayMs",
    summary: "delays the close of a connection",
  },
  timeout: {
    layer: "toxiproxy",
    shape: "window",
    fields: "timeoutMs",
    summary: "blackhole: data stops; closed after timeoutMs (never when 0)",
  },
  reset_peer: {
    layer: "toxiproxy",
    shape: "window",
    fields: "timeoutMs",
    summary: "resets the connection (RST) timeoutMs after data arrives",
  },
  slicer: {
    layer: "toxiproxy",
    shape: "window",
    fields: "averageSizeBytes, sizeVariationBytes?, delayUs?",
    summary: "cuts data into small chunks (framing under fragmentation)",
  },
  limit_data: {
    layer: "toxiproxy",
    shape: "window",
    fields: "bytes",
    summary: "closes a connection once this many bytes have passed",
  },
  corrupt: {
    layer: "toxiproxy",
    shape: "window",
    fields: "probability, damage? (flip | truncate | length | mix)",
    summary: "damages this fraction of frames in transit: a flipped byte, a cut frame, a wrong length",
  },
  down: {
    layer: "toxiproxy",
    shape: "window",
    fields: "",
    summary: "proxy disabled: connections refused, open ones closed",
  },
  "packet-loss": {
    layer: "kernel",
    shape: "window",
    fields: "lossPercent, direction? (default both)",
    summary: "kernel drops this % of packets at random (TCP retransmits); root",
  },
  "syn-drop": {
    layer: "kernel",
    shape: "window",
    fields: "lossPercent? (default 100)",
    summary: "firewall drops new connections (SYN): connect timeouts; root",
  },
  "connection-kill": {
    layer: "toxiproxy",
    shape: "instant",
    fields: "method? (proxy-cycle | ss-kill)",
    summary: "drops every established connection of the link once",
  },
  "connection-flood": {
    layer: "harness",
    shape: "window",
    fields: "connectionsPerSecond, holdOpenS? (default 60)",
    summary: "opens this many idle connections a second to the link, each held holdOpenS: a reconnect storm",
  },
  "issuer-slow": {
    layer: "backend",
    shape: "window",
    fields: "issuer, medianMs, p99Ms",
    summary: "slow issuer: log-normal service time with this median and p99",
  },
  "issuer-errors": {
    layer: "backend",
    shape: "window",
    fields: "issuer, responseMix",
    summary: "issuer answers with this response-code mix",
  },
  "hsm-capacity": {
    layer: "backend",
    shape: "window",
    fields: "capacityPerSecond",
    summary: "HSM capacity cut: calls started per second",
  },
  "switch-config": {
    layer: "backend",
    shape: "window",
    fields: "settings",
    summary: "changes runtime switch settings (e.g. issuerTimeoutMs), restored on clear",
  },
  "switch-restart": {
    layer: "lab",
    shape: "instant",
    fields: "downMs?",
    summary: "the lab restarts the switch",
  },
  "power-loss": {
    layer: "fleet",
    shape: "window",
    fields: "fraction, offMs? (default 5000)",
    summary: "terminals lose power right after sending a purchase, come back offMs later owing a reversal",
  },
};

export const TOXIC_KINDS = [
  "latency",
  "bandwidth",
  "slow_close",
  "timeout",
  "reset_peer",
  "slicer",
  "limit_data",
  "corrupt",
] as const satisfies readonly ToxicFault["kind"][];

export function isToxicFault(fault: Fault): fault is ToxicFault {
  return (TOXIC_KINDS as readonly string[]).includes(fault.kind);
}

/** The link or the program a fault acts on: a link name, `hsm`, `switch` or `issuer-<name>`. */
export function faultTarget(fault: Fault): string {
  switch (fault.kind) {
    case "issuer-slow":
    case "issuer-errors":
      return fault.issuer;
    case "hsm-capacity":
      return "hsm";
    case "switch-config":
    case "switch-restart":
      return "switch";
    case "power-loss":
      return "terminals";
    default:
      return fault.link;
  }
}

/** The directions a fault acts in, or undefined for faults without one. */
export function faultDirections(fault: Fault): ("upstream" | "downstream")[] | undefined {
  if (isToxicFault(fault)) return expand(fault.direction ?? "downstream");
  if (fault.kind === "packet-loss") return expand(fault.direction ?? "both");
  return undefined;
}

const expand = (d: FaultDirection): ("upstream" | "downstream")[] =>
  d === "both" ? ["upstream", "downstream"] : [d];

/** One line: `latency 200ms ±50ms on edge (downstream)`. */
export function describeFault(fault: Fault): string {
  const dir = (d: FaultDirection | undefined, fallback: FaultDirection) => ` (${d ?? fallback})`;
  const share = (t: number | undefined) => (t !== undefined && t < 1 ? `, ${t * 100}% of connections` : "");
  switch (fault.kind) {
    case "latency":
      return `latency ${fault.latencyMs}ms${fault.jitterMs ? ` ±${fault.jitterMs}ms` : ""} on ${fault.link}${dir(fault.direction, "downstream")}${share(fault.toxicity)}`;
    case "bandwidth":
      return `bandwidth ${fault.rateKBps}KB/s on ${fault.link}${dir(fault.direction, "downstream")}${share(fault.toxicity)}`;
    case "slow_close":
      return `slow close ${fault.delayMs}ms on ${fault.link}${share(fault.toxicity)}`;
    case "timeout":
      return `blackhole on ${fault.link}${fault.timeoutMs ? `, closed after ${fault.timeoutMs}ms` : ""}${dir(fault.direction, "downstream")}${share(fault.toxicity)}`;
    case "reset_peer":
      return `reset ${fault.timeoutMs}ms after data on ${fault.link}${dir(fault.direction, "downstream")}${share(fault.toxicity)}`;
    case "slicer":
      return `slicer ${fault.averageSizeBytes}±${fault.sizeVariationBytes ?? 0}B every ${fault.delayUs ?? 0}µs on ${fault.link}${dir(fault.direction, "downstream")}${share(fault.toxicity)}`;
    case "limit_data":
      return `close after ${fault.bytes}B on ${fault.link}${dir(fault.direction, "downstream")}${share(fault.toxicity)}`;
    case "corrupt":
      return `${Math.round(fault.probability * 1000) / 10}% of frames damaged (${fault.damage ?? "mix"}) on ${fault.link}${dir(fault.direction, "downstream")}${share(fault.toxicity)}`;
    case "down":
      return `${fault.link} down`;
    case "packet-loss":
      return `packet loss ${fault.lossPercent}% on ${fault.link}${dir(fault.direction, "both")}`;
    case "syn-drop":
      return `SYN drop ${fault.lossPercent ?? 100}% on ${fault.link}`;
    case "connection-kill":
      return `kill connections of ${fault.link} (${fault.method ?? "proxy-cycle"})`;
    case "connection-flood":
      return `${fault.connectionsPerSecond} idle connections/s to ${fault.link}, each held ${fault.holdOpenS ?? FLOOD_HOLD_OPEN_S}s`;
    case "issuer-slow":
      return `${fault.issuer} slow: median ${fault.medianMs}ms, p99 ${fault.p99Ms}ms`;
    case "issuer-errors":
      return `${fault.issuer} answers ${Object.entries(fault.responseMix)
        .map(([code, weight]) => `${code}:${weight}`)
        .join(",")}`;
    case "hsm-capacity":
      return `HSM capacity ${fault.capacityPerSecond}/s`;
    case "switch-config":
      return `switch ${Object.entries(fault.settings)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(" ")}`;
    case "switch-restart":
      return `switch restart${fault.downMs ? ` (down ${fault.downMs}ms)` : ""}`;
    case "power-loss":
      return `${Math.round(fault.fraction * 1000) / 10}% of purchases lose power after sending, off ${fault.offMs ?? POWER_OFF_MS}ms`;
  }
}

// ---- validation -----------------------------------------------------------------------------------

type Check = (value: unknown) => string | undefined;

const show = (v: unknown) => (typeof v === "number" ? String(v) : (JSON.stringify(v) ?? String(v)));

function number(opts: { min?: number; max?: number; above?: number; int?: boolean }): Check {
  return (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return `${show(v)} is not a number`;
    if (opts.int && !Number.isInteger(v)) return `${v} is not a whole number`;
    if (opts.above !== undefined && v <= opts.above) return `${v} must be > ${opts.above}`;
    if (opts.min !== undefined && v < opts.min) return `${v} must be >= ${opts.min}`;
    if (opts.max !== undefined && v > opts.max) return `${v} must be <= ${opts.max}`;
    return undefined;
  };
}

const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === "string" && values.includes(v)
      ? undefined
      : `${show(v)} must be one of ${values.join(", ")}`;

const LINK_PATTERN = /^(edge|hsm|(issuer|agent)-[a-z0-9][a-z0-9-]*)$/;
const link: Check = (v) =>
  typeof v === "string" && LINK_PATTERN.test(v)
    ? undefined
    : `${show(v)} is not a link (edge, hsm, issuer-<name> or agent-<name>)`;
const issuer: Check = (v) =>
  typeof v === "string" && /^issuer-[a-z0-9][a-z0-9-]*$/.test(v)
    ? undefined
    : `${show(v)} is not an issuer (issuer-<name>, e.g. issuer-a)`;
const direction = oneOf(["upstream", "downstream", "both"]);
const toxicity = number({ min: 0, max: 1 });
const ms = number({ min: 0 });
/** Toxiproxy reads its attributes as whole numbers. */
const wholeMs = number({ min: 0, int: true });

const responseMix: Check = (v) => {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return `${show(v)} is not an object of code → weight`;
  const entries = Object.entries(v);
  if (entries.length === 0) return "is empty";
  for (const [code, weight] of entries) {
    if (!/^[0-9A-Z]{2}$/.test(code)) return `response code ${show(code)} is not 2 characters (00, 91, A0 …)`;
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0)
      return `weight of ${code} ${show(weight)} must be a number >= 0`;
  }
  if (entries.every(([, w]) => w === 0)) return "weights are all 0";
  return undefined;
};

const SWITCH_SETTINGS: Record<keyof SwitchRuntimeSettings, Check> = {
  issuerTimeoutMs: number({ min: 1, int: true }),
  hsmTimeoutMs: number({ min: 1, int: true }),
  idleTimeoutMs: number({ min: 1, int: true }),
  shedding: (v) => (typeof v === "boolean" ? undefined : `${show(v)} is not true or false`),
  maxInFlight: number({ min: 1, int: true }),
  maxQueue: number({ min: 0, int: true }),
  safRetryMs: number({ min: 1, int: true }),
  issuerPoolSize: number({ min: 1, int: true }),
  hsmPoolSize: number({ min: 1, max: 64, int: true }),
  routes: (v) =>
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === "string")
      ? undefined
      : `${show(v)} is not an object of BIN prefix → issuer link`,
  fleet: (v) =>
    Array.isArray(v) && v.every((x) => typeof x === "string")
      ? undefined
      : `${show(v)} is not a list of strings`,
  minSoftwareVersion: (v) =>
    typeof v === "string" && /^(\d{6})?$/.test(v) ? undefined : `${show(v)} is not 6 digits (or "")`,
};

/** The switch's runtime setting names, for messages and `posstorm chaos list`. */
export const SWITCH_RUNTIME_SETTINGS = Object.keys(SWITCH_SETTINGS) as (keyof SwitchRuntimeSettings)[];

const switchSettings: Check = (v) => {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return `${show(v)} is not an object of settings`;
  if (Object.keys(v).length === 0) return "is empty";
  return undefined;
};

interface FieldSpec {
  check: Check;
  required: boolean;
}
const req = (check: Check): FieldSpec => ({ check, required: true });
const opt = (check: Check): FieldSpec => ({ check, required: false });

const toxicCommon = { link: req(link), direction: opt(direction), toxicity: opt(toxicity) };

const FIELDS: Record<FaultKind, Record<string, FieldSpec>> = {
  latency: { ...toxicCommon, latencyMs: req(wholeMs), jitterMs: opt(wholeMs) },
  bandwidth: { ...toxicCommon, rateKBps: req(number({ min: 1, int: true })) },
  slow_close: { ...toxicCommon, delayMs: req(wholeMs) },
  timeout: { ...toxicCommon, timeoutMs: req(wholeMs) },
  reset_peer: { ...toxicCommon, timeoutMs: req(wholeMs) },
  slicer: {
    ...toxicCommon,
    averageSizeBytes: req(number({ min: 1, int: true })),
    sizeVariationBytes: opt(number({ min: 0, int: true })),
    delayUs: opt(number({ min: 0, int: true })),
  },
  limit_data: { ...toxicCommon, bytes: req(number({ min: 0, int: true })) },
  corrupt: {
    ...toxicCommon,
    probability: req(number({ min: 0, max: 1 })),
    damage: opt(oneOf(["flip", "truncate", "length", "mix"])),
  },
  down: { link: req(link) },
  "packet-loss": {
    link: req(link),
    lossPercent: req(number({ min: 0, max: 100 })),
    direction: opt(direction),
  },
  "syn-drop": { link: req(link), lossPercent: opt(number({ min: 0, max: 100 })) },
  "connection-kill": { link: req(link), method: opt(oneOf(["proxy-cycle", "ss-kill"])) },
  "connection-flood": {
    link: req(link),
    connectionsPerSecond: req(number({ above: 0, max: 100_000 })),
    holdOpenS: opt(number({ above: 0 })),
  },
  "issuer-slow": { issuer: req(issuer), medianMs: req(ms), p99Ms: req(ms) },
  "issuer-errors": { issuer: req(issuer), responseMix: req(responseMix) },
  "hsm-capacity": { capacityPerSecond: req(number({ min: 0 })) },
  "switch-config": { settings: req(switchSettings) },
  "switch-restart": { downMs: opt(ms) },
  "power-loss": { fraction: req(number({ min: 0, max: 1 })), offMs: opt(ms) },
};

/**
 * Every problem of a fault that came from outside the type checker, each prefixed with `path`:
 * `chaos[1].latencyMs: -5 must be >= 0`. Empty when the fault is valid.
 */
export function validateFault(fault: unknown, path: string): string[] {
  if (typeof fault !== "object" || fault === null || Array.isArray(fault)) {
    return [`${path}: ${show(fault)} is not a fault object`];
  }
  const record = fault as Record<string, unknown>;
  const kind = record.kind;
  if (typeof kind !== "string" || !(kind in FIELDS)) {
    return [`${path}.kind: ${show(kind)} is not a fault kind (${Object.keys(FIELDS).join(", ")})`];
  }
  const fields = FIELDS[kind as FaultKind];
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    const value = record[name];
    if (value === undefined) {
      if (spec.required)
        problems.push(`${path}.${name}: missing (${kind} needs ${FAULT_KINDS[kind as FaultKind].fields})`);
      continue;
    }
    const problem = spec.check(value);
    if (problem) problems.push(`${path}.${name}: ${problem}`);
  }
  for (const name of Object.keys(record)) {
    if (name !== "kind" && !(name in fields)) {
      problems.push(`${path}.${name}: not a field of ${kind} (fields: ${Object.keys(fields).join(", ")})`);
    }
  }
  if (problems.length > 0) return problems;
  const f = fault as Fault;
  if (f.kind === "slicer" && (f.sizeVariationBytes ?? 0) >= f.averageSizeBytes) {
    problems.push(
      `${path}.sizeVariationBytes: ${f.sizeVariationBytes} must be below averageSizeBytes (${f.averageSizeBytes})`,
    );
  }
  if (f.kind === "switch-config") {
    for (const [name, value] of Object.entries(f.settings)) {
      const check = SWITCH_SETTINGS[name as keyof SwitchRuntimeSettings];
      if (!check) {
        problems.push(
          `${path}.settings.${name}: not a runtime switch setting (${SWITCH_RUNTIME_SETTINGS.join(", ")})`,
        );
        continue;
      }
      const problem = check(value);
      if (problem) problems.push(`${path}.settings.${name}: ${problem}`);
    }
  }
  return problems;
}
